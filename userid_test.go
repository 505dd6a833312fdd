package twofa_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// unreachable is a store that a test can cut off: with Store nil, any call
// panics, which the test reports as a call that should not have happened.
type unreachable struct{ storage.Store }

// Every method of Service that takes a user ID refuses one outside the rule
// with ErrInvalidUserID before it reaches the store, the application's
// address look-up, the mailer or the event hook. The methods are found by
// reflection — each whose parameter after the context is a string — so a
// new one is covered without a new line here.
func TestInvalidUserIDs(t *testing.T) {
	bad := map[string]string{
		"empty":         "",
		"NUL":           "u\x00v",
		"invalid UTF-8": "u\xff\xfe",
		"256 bytes":     strings.Repeat("u", 256),
		"1 MB":          strings.Repeat("u", 1<<20),
	}
	var lookups atomic.Int32
	store := &unreachable{memory.New()}
	f := newFixture(t, store, func(c *twofa.Config) {
		address := c.Address
		c.Address = func(ctx context.Context, user string) (string, error) {
			lookups.Add(1)
			return address(ctx, user)
		}
	})
	store.Store = nil

	svc := reflect.ValueOf(f.tf)
	typ := svc.Type()
	var called []string
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		in := m.Type // receiver first
		if in.NumIn() < 3 || in.In(1) != reflect.TypeFor[context.Context]() || in.In(2).Kind() != reflect.String {
			continue
		}
		if m.Name == "FinishPasskeySignIn" {
			continue // its string is a ceremony: the user is not known yet
		}
		called = append(called, m.Name)
		for name, id := range bad {
			t.Run(m.Name+"/"+name, func(t *testing.T) {
				args := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(id)}
				for j := 3; j < in.NumIn(); j++ {
					args = append(args, argFor(in.In(j)))
				}
				var out []reflect.Value
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("reached the store: %v", r)
						}
					}()
					out = svc.Method(i).Call(args)
				}()
				err, _ := out[len(out)-1].Interface().(error)
				if !errors.Is(err, twofa.ErrInvalidUserID) {
					t.Fatalf("%s: %v, want ErrInvalidUserID", m.Name, err)
				}
				if len(err.Error()) > 100 || strings.Contains(err.Error(), "uuu") {
					t.Fatalf("the error quotes the ID: %.200q", err.Error())
				}
			})
		}
	}
	want := []string{"Account", "Disable", "Enable", "Printer", "Remove", "RemoveKey", "Requires", "Reset", "SendCode", "Unlock", "Verify"}
	for _, name := range want {
		if !slices.Contains(called, name) {
			t.Errorf("%s was not called: %v", name, called)
		}
	}
	if n := lookups.Load(); n != 0 || len(f.mail.Messages()) != 0 || len(f.events.All()) != 0 {
		t.Fatalf("address look-ups %d, mails %d, events %v", n, len(f.mail.Messages()), f.events.All())
	}
}
