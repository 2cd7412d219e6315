#!/bin/sh
# Writes the evaluation manifests librispeech.csv and fsdd.csv from the
# manifests of the shared speech (root: $VOXDESK_SPEECH, default
# /work/shared/speech). Paths in the output are relative to that root.
#
# LibriSpeech test-other (10 speakers x 10 utterances): each speaker's first
# two utterances (by file name) enrol, the other eight are tests. Cohort for
# s-norm: FSDD, 6 speakers x 25 segments of two takes of the ten digits.
#
# FSDD (6 speakers x 10 digits x 50 takes, 0.3-0.8 s clips): a test or
# enrol utterance is a segment of the ten digits of two consecutive takes
# (20 clips, about 9 s), joined in order with the manifest's segment column.
# Takes 0-3 enrol (two segments), takes 4-49 are 23 test segments per
# speaker. Cohort: all 100 LibriSpeech utterances (10 other speakers).
#
# The splits are fixed by file order, not chosen by results.
set -eu
root=${VOXDESK_SPEECH:-/work/shared/speech}
here=$(dirname "$0")

fsdd_rows() { # $1: role for takes 0-3, $2: role for takes 4-49
	awk -F, -v r1="$1" -v r2="$2" 'NR > 1 {
		seg = sprintf("t%02d-%02d", int($4 / 2) * 2, int($4 / 2) * 2 + 1)
		role = ($4 < 4) ? r1 : r2
		if (role != "") printf "%s,fsdd/%s,%s,%s,%02d%d\n", $1, $5, role, seg, $4, $3
	}' "$root/fsdd/manifest.csv" | sort -t, -k1,1 -k5,5 | cut -d, -f1-4
}

libri_rows() { # $1: role for the first two utterances, $2: for the rest
	awk -F, 'NR > 1 { print $1 "," $5 }' "$root/librispeech-test-other/manifest.csv" | sort |
		awk -F, -v r1="$1" -v r2="$2" '{ n[$1]++; role = (n[$1] <= 2) ? r1 : r2
			printf "%s,librispeech-test-other/%s,%s,\n", $1, $2, role }'
}

{
	echo "speaker_id,file,role,segment"
	libri_rows enrol test
	fsdd_rows cohort cohort | sed 's/^/fsdd-/'
} >"$here/librispeech.csv"

{
	echo "speaker_id,file,role,segment"
	fsdd_rows enrol test
	libri_rows cohort cohort | sed 's/^/libri-/'
} >"$here/fsdd.csv"
