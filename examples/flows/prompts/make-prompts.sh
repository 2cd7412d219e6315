#!/bin/sh
# Makes the example flows' own prompts (8 kHz 16-bit mono), like res/make-prompts.sh.
# Needs espeak-ng and sox. Run from this folder: sh make-prompts.sh
set -e
say() {
	espeak-ng -v en-us -s 165 -w "$1.tmp.wav" "$2"
	sox "$1.tmp.wav" -r 8000 -c 1 -b 16 -e signed-integer "$1.wav" norm -3
	rm -f "$1.tmp.wav"
}
say hotline_welcome "Welcome to voxdesk. To speak to a person at any time, press 0."
say main_menu "For billing, press 1. For technical support, press 2. To be called back, press 3."
say enter_account "Please enter your account number, followed by hash."
say say_passphrase "Please say: my voice is my password."
say callback_booked "Thank you. An advisor will call you back shortly."
