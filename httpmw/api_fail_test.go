package httpmw_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twofa-go/twofa/httpmw"
	"github.com/twofa-go/twofa/storage"
	"github.com/twofa-go/twofa/storage/memory"
)

// stepDown is a store whose single-use write of an app code fails once
// down is set.
type stepDown struct {
	storage.Store
	down atomic.Bool
}

func (s *stepDown) AdvanceTOTPStep(ctx context.Context, u string, step int64) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.Store.AdvanceTOTPStep(ctx, u, step)
}

func (s *stepDown) AdvanceTOTPStepAndResetThrottle(ctx context.Context, u string, step int64) (bool, error) {
	if s.down.Load() {
		return false, errDown
	}
	return s.Store.AdvanceTOTPStepAndResetThrottle(ctx, u, step)
}

// A store, mailer or clock that fails denies: a problem that says nothing
// of the cause, and no step passed, nothing set up.
func TestAPIFailuresDeny(t *testing.T) {
	st := &stepDown{Store: memory.New()}
	a := newApp(t, withStore(st))
	code := a.enroll("alice")
	b := a.browser()
	b.login("alice")

	st.down.Store(true)
	p := b.call("POST", "verify", map[string]any{"code": code()}).problem(t, "store down", httpmw.ProblemUnavailable, http.StatusInternalServerError)
	if p.Detail != "Temporarily unavailable. Try again later." {
		t.Fatalf("store down: %+v", p)
	}
	b.asked("/account")
	st.down.Store(false)
	a.clock.Add(30 * time.Second)
	b.call("POST", "verify", map[string]any{"code": code()}).ok(t, "store up", nil)

	// The mailer fails: a problem, in the page's words.
	b.call("POST", "methods/email/enable", nil).ok(t, "e-mail on", nil)
	a.mail.Fail(errors.New("smtp: 421 try later"))
	p = b.call("POST", "email", nil).problem(t, "mailer down", httpmw.ProblemEmailNotSent, http.StatusBadGateway)
	if p.Detail != "The e-mail could not be sent. Try again in a while, or use another method." {
		t.Fatalf("mailer down: %+v", p)
	}
	a.mail.Fail(nil)

	// A clock before 1970: nothing is set up, and the step cannot pass.
	// A new login; the step it passed is too old by then.
	before := a.snapshot("alice")
	back := a.clock.Now()
	a.clock.Add(-time.Duration(a.clock.Now().Unix()+3600) * time.Second)
	for _, c := range []struct{ method, path string }{{"POST", "totp/begin"}, {"POST", "backup"}} {
		got := b.call(c.method, c.path, nil)
		if got.status < 400 {
			t.Fatalf("%s %s with the clock before 1970: %d %s", c.method, c.path, got.status, got.body)
		}
	}
	other := a.browser()
	other.login("alice")
	if got := other.call("POST", "verify", map[string]any{"code": "123456"}); got.status != http.StatusServiceUnavailable && got.status != http.StatusInternalServerError {
		t.Fatalf("verify with the clock before 1970: %d %s", got.status, got.body)
	}
	a.clock.Add(back.Sub(a.clock.Now()))
	if after := a.snapshot("alice"); after != before {
		t.Fatalf("a wrong clock changed alice:\nbefore %s\nafter  %s", before, after)
	}
}

// The document's problem types are the package's constants, no more.
func TestAPIProblemTypes(t *testing.T) {
	a := newApp(t)
	enum := a.api.Doc().Components.Schemas["Problem"].Value.Properties["type"].Value.Enum
	var inDoc []string
	for _, e := range enum {
		inDoc = append(inDoc, e.(string))
	}
	consts := []string{httpmw.ProblemBadRequest, httpmw.ProblemTooLarge, httpmw.ProblemCrossOrigin, httpmw.ProblemNotLoggedIn,
		httpmw.ProblemSecondStepNeeded, httpmw.ProblemStepUpNeeded, httpmw.ProblemSetUpRequired, httpmw.ProblemInvalidCode, httpmw.ProblemCodeUsed,
		httpmw.ProblemThrottled, httpmw.ProblemNotSetUp, httpmw.ProblemMethodOff, httpmw.ProblemNeedsPrimary,
		httpmw.ProblemNotFound, httpmw.ProblemInvalidName, httpmw.ProblemKeyRefused, httpmw.ProblemKeyConflict, httpmw.ProblemKeyNotAllowed,
		httpmw.ProblemBadAccount, httpmw.ProblemEmailNotSent, httpmw.ProblemUnavailable}
	slices.Sort(inDoc)
	slices.Sort(consts)
	if !slices.Equal(inDoc, consts) {
		t.Fatalf("the document's types\n%v\nthe constants\n%v", inDoc, consts)
	}
}
