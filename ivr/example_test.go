package ivr_test

import (
	"context"
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/ivr"
)

func ExampleParse() {
	src := `operator: agent
steps:
  - branch:
      - when: "score >= 'high'"
        goto: vip
  - plya: welcome
  - id: agent
    queue: general
`
	_, err := ivr.Parse("line.yaml", []byte(src), ivr.Options{})
	fmt.Println(err)
	// Output:
	// line.yaml:4:22: type error: >= compares a number with a string
	// line.yaml:5:15: step "vip" does not exist
	// line.yaml:6:5: unknown step type "plya" (did you mean play?)
}

func ExampleSimulate() {
	src := `operator: none
calendars:
  office:
    timezone: Europe/Paris
    hours: {mon-fri: 09:00-18:00}
steps:
  - branch:
      - when: "not open('office')"
        goto: closed
      - when: "startswith(caller, '+33')"
        goto: france
  - queue: international
  - id: france
    queue: france
    skills: [french]
  - id: closed
    hangup:
`
	f, err := ivr.Parse("route.yaml", []byte(src), ivr.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, at := range []time.Time{
		time.Date(2026, 11, 23, 9, 30, 0, 0, paris),
		time.Date(2026, 11, 23, 20, 0, 0, 0, paris),
	} {
		res, _ := ivr.Simulate(context.Background(), f, ivr.Simulation{Caller: "+33123456789", At: at}, ivr.Config{HoldLimit: time.Second}, nil)
		for _, s := range res.Path {
			fmt.Printf("%s (%s)  ", s.ID, s.What)
		}
		fmt.Println("->", res.Vars["queue"])
	}
	// Output:
	// main:1 (branch)  france (queue france [french])  -> france
	// main:1 (branch)  closed (hangup)  ->
}
