#!/bin/sh
# Regenerates res/prompts/*.wav (8 kHz, 16-bit, mono). Needs espeak-ng and sox
# (Debian: apt-get install -y --no-install-recommends espeak-ng sox).
# Run from the res/ directory: sh make-prompts.sh
set -eu
say() { # name text
	espeak-ng -v en-us -s 165 -w "prompts/$1.tmp.wav" "$2"
	sox "prompts/$1.tmp.wav" -r 8000 -c 1 -b 16 -e signed-integer "prompts/$1.wav" norm -3
	rm "prompts/$1.tmp.wav"
}
mkdir -p prompts
say welcome "Welcome to voxdesk. Press keys, then hash to finish."
say goodbye "Thank you for calling. Goodbye."
say reason "Please tell us in a few words why you are calling."
say hold "Please hold, an advisor will be with you shortly."
say you_are_number "You are number"
say in_the_queue "in the queue."
say wait_is "Your estimated wait is"
say minutes "minutes."
say digit_0 "zero"
say digit_1 "one"
say digit_2 "two"
say digit_3 "three"
say digit_4 "four"
say digit_5 "five"
say digit_6 "six"
say digit_7 "seven"
say digit_8 "eight"
say digit_9 "nine"
say connecting "Connecting you to an advisor."
say not_understood "Sorry, I did not get that."
say callback_offer "Press 1 to be called back."
say enter_pin "Enter your PIN, followed by hash."
say not_verified "We could not verify you."
say press_0 "To reach a person, press 0."
say leave_message "Please leave a message after the tone."
say closed "We are closed. Please call again during opening hours."
say recording_notice "This call is recorded for quality and training."
sox -n -r 8000 -c 1 -b 16 -e signed-integer prompts/beep.wav synth 0.4 sine 1000 vol 0.5 fade 0.01 0.4 0.01
