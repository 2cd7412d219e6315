package agentapi_test

import (
	"fmt"
	"time"

	"github.com/voxdesk/voxdesk/agentapi"
)

// The website signs a token for a logged-in customer and opens the
// widget with it in the URL fragment; the switch verifies it. The token
// below was reproduced independently with Python's hmac module following
// the recipe in token.go (json.dumps with separators=(',', ':')).
func ExampleSignWebToken() {
	key := []byte("0123456789abcdef0123456789abcdef") // shared with the switch (webcall.token_key)
	now := time.Unix(1767225600, 0)
	tok, err := agentapi.SignWebToken(key, agentapi.WebClaims{
		Customer: "C1001", Name: "Ada Lovelace", Phone: "+441632960001",
		IssuedAt: now.Unix(), Expires: now.Add(10 * time.Minute).Unix(), Nonce: "3f0c9a",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println("https://switch.example.com/callback.html#token=" + tok)

	c, err := agentapi.VerifyWebToken(key, tok, now.Add(time.Minute))
	fmt.Println(c.Customer, c.Name, err)

	_, err = agentapi.VerifyWebToken(key, tok, now.Add(time.Hour))
	fmt.Println(err)
	// Output:
	// https://switch.example.com/callback.html#token=eyJzdWIiOiJDMTAwMSIsIm5hbWUiOiJBZGEgTG92ZWxhY2UiLCJwaG9uZSI6Iis0NDE2MzI5NjAwMDEiLCJpYXQiOjE3NjcyMjU2MDAsImV4cCI6MTc2NzIyNjIwMCwianRpIjoiM2YwYzlhIn0.j9Pj0PHgtZd7B-gOEbiQSVgp7fx6uJ1wPKe2x9GM2Vg
	// C1001 Ada Lovelace <nil>
	// agentapi: bad web token: expired
}
