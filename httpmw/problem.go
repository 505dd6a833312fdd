package httpmw

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/twofa-go/twofa/i18n"
	"golang.org/x/text/language"
)

// The problem types of the JSON API: the "type" of every problem it
// answers (RFC 9457), one per case a client acts on, fixed for good. The
// API's OpenAPI document lists them with their statuses.
const (
	ProblemBadRequest       = problemBase + "bad-request"        // 400, 405, 415: a body or method the route does not take
	ProblemTooLarge         = problemBase + "too-large"          // 413: a body past MaxJSONBody
	ProblemCrossOrigin      = problemBase + "cross-origin"       // 403: a request from another origin
	ProblemNotLoggedIn      = problemBase + "not-logged-in"      // 401: no user passed the application's first step
	ProblemSecondStepNeeded = problemBase + "second-step-needed" // 401: the settings need the second step passed
	ProblemStepUpNeeded     = problemBase + "step-up-needed"     // 401: the settings need a more recent second step
	ProblemSetUpRequired    = problemBase + "set-up-required"    // 401: Config.RequireSetUp, and the user has no method yet
	ProblemInvalidCode      = problemBase + "invalid-code"       // 401: a wrong code, or of no shape a method has
	ProblemCodeUsed         = problemBase + "code-used"          // 401: a replayed app code, a used backup code
	ProblemThrottled        = problemBase + "throttled"          // 429: wait until retryAt (Retry-After)
	ProblemNotSetUp         = problemBase + "not-set-up"         // 404, 409: the method or set-up does not exist
	ProblemMethodOff        = problemBase + "method-off"         // 409: the method is turned off or cannot be used
	ProblemNeedsPrimary     = problemBase + "needs-primary"      // 409: backup codes need a primary method first
	ProblemNotFound         = problemBase + "not-found"          // 404: no such route, key, browser or method
	ProblemInvalidName      = problemBase + "invalid-name"       // 422: a key's name out of bounds
	ProblemKeyRefused       = problemBase + "key-refused"        // 403: the security key's answer was refused
	ProblemKeyConflict      = problemBase + "key-conflict"       // 409: the key is registered already, or too many
	ProblemBadAccount       = problemBase + "bad-account"        // 422: the account name cannot label an app entry
	ProblemEmailNotSent     = problemBase + "email-not-sent"     // 502: the mailer failed
	ProblemUnavailable      = problemBase + "unavailable"        // 500, 503: a store, clock or session failure
)

const problemBase = "tag:twofa-go.github.io,2026:"

// problemTitles are the short, fixed summaries of each type, in English;
// the catalogue has them as "problem.title.<type's last part>".
var problemTitles = map[string]string{
	ProblemBadRequest:       "Bad request",
	ProblemTooLarge:         "Request body too large",
	ProblemCrossOrigin:      "Cross-origin request refused",
	ProblemNotLoggedIn:      "Not logged in",
	ProblemSecondStepNeeded: "Second step needed",
	ProblemStepUpNeeded:     "Recent second step needed",
	ProblemSetUpRequired:    "Second step set-up required",
	ProblemInvalidCode:      "Invalid code",
	ProblemCodeUsed:         "Code already used",
	ProblemThrottled:        "Too many attempts",
	ProblemNotSetUp:         "Not set up",
	ProblemMethodOff:        "Method not available",
	ProblemNeedsPrimary:     "Primary method needed",
	ProblemNotFound:         "Not found",
	ProblemInvalidName:      "Invalid name",
	ProblemKeyRefused:       "Security key refused",
	ProblemKeyConflict:      "Security key conflict",
	ProblemBadAccount:       "Account name unusable",
	ProblemEmailNotSent:     "E-mail not sent",
	ProblemUnavailable:      "Temporarily unavailable",
}

// Problem is an error answer of the JSON API, sent as
// application/problem+json (RFC 9457). Detail is the message the pages
// show for the same case, fit to show to the user; no member ever holds
// what the request sent.
type Problem struct {
	// Type is one of the Problem… constants.
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// RetryAt is when to try again (ProblemThrottled), zero when unknown
	// or Locked; the answer's Retry-After header says the same in seconds.
	RetryAt time.Time `json:"retryAt,omitzero"`
	// Locked is true when only an administrator lifts the lock.
	Locked bool `json:"locked,omitzero"`
	// LockIn is how many more wrong codes start a lock, with
	// ProblemInvalidCode and ProblemThrottled; nil when not known.
	LockIn *int `json:"lockIn,omitempty"`
	// Challenge is the API's challenge, with ProblemSecondStepNeeded and
	// ProblemStepUpNeeded: pass it, then try again.
	Challenge string `json:"challenge,omitempty"`

	// msg and args are Detail's message in the catalogue, to say it in
	// the request's language when the problem is written.
	msg  string
	args []any
}

func (p *Problem) Error() string { return p.Title + ": " + p.Detail }

// newProblem is a problem of type typ, whose detail is the message msg of
// the catalogue with the placeholders kv; Title and Detail are in English
// until the problem is written in the request's language (see in).
func newProblem(typ string, status int, msg string, kv ...any) *Problem {
	p := &Problem{Type: typ, Status: status, msg: msg, args: kv}
	return p.in(i18n.Default().Printer(language.English))
}

// in returns p with its title and detail said by pr.
func (p *Problem) in(pr *i18n.Printer) *Problem {
	q := *p
	q.Title = problemTitles[p.Type]
	if id := "problem.title." + strings.TrimPrefix(p.Type, problemBase); pr.T(id) != id {
		q.Title = pr.T(id)
	}
	if p.msg != "" {
		q.Detail = pr.T(p.msg, p.args...)
	}
	return &q
}

// speakingWriter carries the request's printer to writeProblem, which
// the API's handlers call with the ResponseWriter alone.
type speakingWriter struct {
	http.ResponseWriter
	pr *i18n.Printer
}

func (s *speakingWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// printerOf finds the printer a speakingWriter in w's chain carries.
func printerOf(w http.ResponseWriter) *i18n.Printer {
	for range 16 {
		switch x := w.(type) {
		case *speakingWriter:
			return x.pr
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
	return nil
}

// writeProblem answers p, with Retry-After when p has a time to retry at,
// in the language of the printer w carries (see speakingWriter).
func writeProblem(w http.ResponseWriter, p *Problem, now time.Time) {
	if pr := printerOf(w); pr != nil {
		p = p.in(pr)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !p.RetryAt.IsZero() {
		secs := math.Ceil(p.RetryAt.Sub(now).Seconds())
		h.Set("Retry-After", strconv.FormatInt(int64(max(secs, 0)), 10))
	}
	// A Problem holds strings, numbers and a time: it always encodes.
	b, _ := json.Marshal(p)
	w.WriteHeader(p.Status)
	w.Write(append(b, '\n'))
}

// writeAPI answers v as JSON with status 200.
func writeAPI(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only this package's own types come here, which always encode.
		panic(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}
