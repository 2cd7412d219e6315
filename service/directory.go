package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/crypto/bcrypt"

	"github.com/voxdesk/voxdesk/customer"
	"github.com/voxdesk/voxdesk/ivr"
	"github.com/voxdesk/voxdesk/routing"
)

// directory answers the IVR's and the router's questions about customers
// from the customer store.
type directory struct {
	db *customer.DB
}

var (
	_ ivr.Directory     = directory{}
	_ routing.Directory = directory{}
)

// ByNumber lists the customers owning a calling number.
func (d directory) ByNumber(ctx context.Context, number string) ([]string, error) {
	if !customer.IsE164(number) {
		// Withheld ("anonymous") or a local name: no customer is linked
		// to it, and identification falls back to the whole base.
		return nil, nil
	}
	cs, err := d.db.CustomersByNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids, nil
}

// Fields are the customer file's fields a flow reads: segment, vip,
// advisor, name, plus every free attribute (language, city...).
func (d directory) Fields(ctx context.Context, id string) (map[string]string, error) {
	c, err := d.db.Customer(ctx, id)
	if err != nil {
		return nil, err
	}
	f := make(map[string]string, len(c.Attributes)+4)
	for k, v := range c.Attributes {
		f[k] = v
	}
	f["segment"] = c.Segment
	f["vip"] = strconv.FormatBool(c.VIP)
	f["advisor"] = c.PreferredAdvisor
	f["name"] = c.Name
	return f, nil
}

// CheckPIN checks a PIN against the customer's "pin_hash" attribute (a
// bcrypt hash, as `voxdesk agent passwd` prints for any secret), or else
// a clear "pin" attribute compared in constant time. A customer with
// neither never matches.
func (d directory) CheckPIN(ctx context.Context, id, pin string) (bool, error) {
	c, err := d.db.Customer(ctx, id)
	if errors.Is(err, customer.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if hash := c.Attributes["pin_hash"]; hash != "" {
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pin))
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("service: customer %s: pin_hash: %w", id, err)
		}
		return true, nil
	}
	want := c.Attributes["pin"]
	return want != "" && subtle.ConstantTimeCompare([]byte(want), []byte(pin)) == 1, nil
}

// PreferredAgent is the customer's preferred advisor, for routing.
func (d directory) PreferredAgent(ctx context.Context, id string) (string, error) {
	c, err := d.db.Customer(ctx, id)
	if errors.Is(err, customer.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return c.PreferredAdvisor, nil
}
