package agentapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// loginFrom posts a login from the client's address and returns the
// status.
func (e *testEnv) loginFrom(t *testing.T, hc *http.Client, user, pw string) int {
	t.Helper()
	b, _ := json.Marshal(loginRequest{User: user, Password: pw})
	r, _ := http.NewRequest(http.MethodPost, e.ts.URL+"/api/login", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// An attacker guessing bob's password from one address slows down that
// address only: bob logs in from his own address meanwhile, and the
// attacker's address gets bob's right password refused too.
func TestLoginThrottleSparesTheVictim(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, withClock(clock))
	attacker, victim := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")
	var got []int
	for range 10 {
		got = append(got, e.loginFrom(t, attacker, "bob", "guess"))
	}
	if want := []int{401, 401, 401, 429, 429, 429, 429, 429, 429, 429}; !slices.Equal(got, want) {
		t.Fatalf("guesses answered %v, want %v", got, want)
	}
	if st := e.loginFrom(t, victim, "bob", "bob-secret"); st != http.StatusOK {
		t.Fatalf("bob from his own address during the attack: %d", st)
	}
	if st := e.loginFrom(t, attacker, "bob", "bob-secret"); st != http.StatusTooManyRequests {
		t.Fatalf("right password from the attacker's address during its backoff: %d", st)
	}
	// The backoff doubles with each failure after it ends.
	advance(pairBackoff + time.Millisecond)
	if st := e.loginFrom(t, attacker, "bob", "guess"); st != http.StatusUnauthorized {
		t.Fatalf("guess after the backoff: %d", st)
	}
	advance(pairBackoff + time.Millisecond) // less than the doubled 4 s
	if st := e.loginFrom(t, attacker, "bob", "guess"); st != http.StatusTooManyRequests {
		t.Fatalf("guess within the doubled backoff: %d", st)
	}
	// Spraying many names from one address spends the address's budget:
	// then even a real account is refused from there, not elsewhere.
	sprayer := clientFrom("127.0.0.3")
	for i := range addressBudget {
		if st := e.loginFrom(t, sprayer, "user"+string(rune('a'+i)), "guess"); st != http.StatusUnauthorized {
			t.Fatalf("spray %d: %d", i, st)
		}
	}
	if st := e.loginFrom(t, sprayer, "alice", "alice-secret"); st != http.StatusTooManyRequests {
		t.Fatalf("login from an address past its budget: %d", st)
	}
	if st := e.loginFrom(t, victim, "alice", "alice-secret"); st != http.StatusOK {
		t.Fatalf("alice from another address: %d", st)
	}
	advance(addressWindow)
	if st := e.loginFrom(t, sprayer, "alice", "alice-secret"); st != http.StatusOK {
		t.Fatalf("after the address window: %d", st)
	}
}

// Thirty guesses sent at once are counted before their hashes are
// checked: only the free attempts are evaluated.
func TestLoginParallelGuessesLimited(t *testing.T) {
	e := newEnv(t)
	hc := clientFrom("127.0.0.1")
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := e.loginFrom(t, hc, "bob", "guess")
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[http.StatusUnauthorized] > freeAttempts || counts[http.StatusTooManyRequests] < 30-freeAttempts {
		t.Fatalf("30 parallel guesses answered %v: want at most %d evaluated (401), the rest 429", counts, freeAttempts)
	}
}

// An unknown name costs the same bcrypt work as a real one, so the time
// of a refusal does not tell which names exist.
func TestLoginTimingHidesNames(t *testing.T) {
	const cost = 10 // about 60 ms: well above the noise of a request
	hash, err := hashPassword("bob-secret", cost)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newAuth([]Account{{ID: "bob", PasswordHash: hash}}, time.Hour, addressBudget)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	// Tries alternate between the names, so a change of machine load
	// hits both alike.
	var known, unknown []time.Duration
	for range 7 {
		for _, u := range []struct {
			name string
			d    *[]time.Duration
		}{{"bob", &known}, {"nobody-by-this-name", &unknown}} {
			now = now.Add(time.Hour) // no throttling between tries
			start := time.Now()
			if _, err := a.login(u.name, "wrong password", "192.0.2.1", now); err != errBadCredentials {
				t.Fatalf("login %s: %v", u.name, err)
			}
			*u.d = append(*u.d, time.Since(start))
		}
	}
	slices.Sort(known)
	slices.Sort(unknown)
	mk, mu := known[len(known)/2], unknown[len(unknown)/2]
	// Without the dummy hash an unknown name is refused about 100 times
	// faster; within a factor of two is the noise of a shared machine.
	if ratio := float64(mu) / float64(mk); ratio < 0.5 || ratio > 2 {
		t.Fatalf("median refusal %v for a real name, %v for an unknown one (ratio %.2f, want 0.5-2)", mk, mu, ratio)
	}
}

func TestLoginAddressBudgetSetting(t *testing.T) {
	a, err := newAuth([]Account{{ID: "bob", PasswordHash: mustHash(t, "bob-secret")}}, time.Hour, 2)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	for i, want := range []error{errBadCredentials, errBadCredentials, errLockedOut} {
		if _, err := a.login("user"+string(rune('a'+i)), "guess", "192.0.2.7", now); err != want {
			t.Fatalf("attempt %d: %v, want %v", i+1, err, want)
		}
	}
	if _, err := a.login("bob", "bob-secret", "192.0.2.8", now); err != nil {
		t.Fatalf("another address: %v", err)
	}
}
