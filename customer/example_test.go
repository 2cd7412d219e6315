package customer_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/voxdesk/voxdesk/customer"
)

func ExampleParseCSV() {
	const file = `id,name,phones,vip,notes,demo_speaker
C-1,Ana Lopes,+33639980101;+12025550101,yes,"Prefers French, then English",george
C-2,Ben Adler,+33639980101,,,
C-1,Ana again,0612345678,maybe,,
`
	_, err := customer.ParseCSV(strings.NewReader(file))
	var ie *customer.ImportError
	if errors.As(err, &ie) {
		for _, r := range ie.Rows {
			fmt.Println(r)
		}
	}
	// Without the bad line, the header and first two rows parse.
	good := strings.Join(strings.SplitAfter(file, "\n")[:3], "")
	cs, _ := customer.ParseCSV(strings.NewReader(good))
	for _, c := range cs {
		fmt.Println(c.ID, c.Name, c.Phones, c.VIP, c.Attributes)
	}
	// Output:
	// line 4 (id "C-1"): vip "maybe" is not true/false; phone "0612345678" is not an E.164 number (+ then 7 to 15 digits, no leading 0); id "C-1" already used on line 2
	// C-1 Ana Lopes [+33639980101 +12025550101] true map[demo_speaker:george]
	// C-2 Ben Adler [+33639980101] false map[]
}

func ExampleNumberPlan_Normalise() {
	france := customer.NumberPlan{CountryCode: "33", TrunkPrefix: "0"}
	for _, typed := range []string{"06 39 98 01 01", "+33 (0)6 39.98.01.01", "0044 20 7946 0958", "06 39 98 01 01 ext 2"} {
		e164, err := france.Normalise(typed)
		fmt.Printf("%-22q %s %v\n", typed, e164, err)
	}
	// Output:
	// "06 39 98 01 01"       +33639980101 <nil>
	// "+33 (0)6 39.98.01.01" +33639980101 <nil>
	// "0044 20 7946 0958"    +442079460958 <nil>
	// "06 39 98 01 01 ext 2"  customer: invalid value: phone number "06 39 98 01 01 ext 2": 'e' is not a digit
}
