package httpmw

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/twofa-go/twofa"
	"github.com/twofa-go/twofa/remember"
	"github.com/twofa-go/twofa/webauthn"
)

// InviteLaterFor is how long a device is not invited again to create a
// passkey after its "Not now" (or after its browser was found unable to
// make one): a month, so that the offer does not stand between the user
// and every login, yet comes back in time for a new browser or system
// that can.
const InviteLaterFor = 30 * 24 * time.Hour

// inviteLaterCookie remembers, on one device, a "Not now" to the
// invitation. It holds no secret: only that the offer waits.
const inviteLaterCookie = "twofa-invite-later"

// passkeySignIn reports whether passkey sign-in is on: the application
// logs users in (Config.LogIn), and security keys are configured.
func (m *Middleware) passkeySignIn() bool { return m.cfg.LogIn != nil && m.tf.WebAuthn != nil }

type apiPasskeyFinishRequest struct {
	Ceremony string          `json:"ceremony"`
	Response json.RawMessage `json:"response"`
	Next     string          `json:"next"`
}

type apiSignedInView struct {
	Method twofa.Method `json:"method"`
	Next   string       `json:"next"`
}

// apiPasskeyBegin starts a passkey sign-in, for a visitor not logged in.
func (m *Middleware) apiPasskeyBegin(w http.ResponseWriter, r *http.Request, _ apiCall) {
	id, options, err := m.tf.BeginPasskeySignIn(r.Context())
	if err != nil {
		m.keyProblem(w, r, err)
		return
	}
	writeAPI(w, apiCeremony{id, options})
}

// apiPasskeyFinish signs a visitor in with a passkey: the key's check,
// the application's login (Config.LogIn), the session renewed and the
// second step recorded as passed by twofa.Passkey, in one answer.
func (m *Middleware) apiPasskeyFinish(w http.ResponseWriter, r *http.Request, c apiCall) {
	var req apiPasskeyFinishRequest
	if !m.decode(w, c, &req) {
		return
	}
	if !validFinish(req.Ceremony, req.Response) {
		m.problem(w, newProblem(ProblemBadRequest, http.StatusBadRequest, "passkey.bad-request"))
		return
	}
	userID, err := m.tf.FinishPasskeySignIn(r.Context(), req.Ceremony, req.Response)
	switch {
	case errors.Is(err, twofa.ErrUserNotVerified):
		m.problem(w, newProblem(ProblemKeyRefused, http.StatusForbidden, "passkey.not-verified"))
		return
	case errors.Is(err, webauthn.ErrNotEnabled):
		m.problem(w, newProblem(ProblemMethodOff, http.StatusConflict, "passkey.keys-off"))
		return
	case err != nil:
		m.keyProblem(w, r, err)
		return
	}
	if r, err = m.logIn(w, r, userID); err != nil {
		m.apiFail(w, r, err)
		return
	}
	writeAPI(w, apiSignedInView{Method: twofa.Passkey, Next: localPath(req.Next, m.cfg.Home)})
}

// errLogInUnseen reports a Config.LogIn after which Config.User does not
// see the user it logged in.
var errLogInUnseen = errors.New("httpmw: after Config.LogIn, Config.User does not return the user it logged in: " +
	"LogIn must set the session cookie on w or return a request that carries the new session")

// logIn logs userID into the application's session and records the
// second step passed by a passkey. It returns the request to go on with.
func (m *Middleware) logIn(w http.ResponseWriter, r *http.Request, userID string) (*http.Request, error) {
	nr, err := m.cfg.LogIn(w, r, userID)
	if err != nil {
		return r, err
	}
	if nr != nil {
		r = nr
	}
	// As after RenewSession: the rest sees the cookies LogIn set.
	r = withSetCookies(r, w.Header(), m.cfg.Now())
	if got, _, ok := m.cfg.User(r); !ok || got != userID {
		return r, errLogInUnseen
	}
	return m.complete(w, r, userID, twofa.Passkey)
}

// mayInvite reports whether the user who just passed the second step with
// method is to be invited to create a passkey on this device: the
// invitation is on, the method was no passkey, this device did not say
// "Not now" lately, and the user's security keys are on with no passkey
// among them. A store failure invites no one: the offer is a nicety, and
// the step is passed already.
func (m *Middleware) mayInvite(r *http.Request, userID string, method twofa.Method) bool {
	if !m.cfg.InvitePasskey || !m.passkeySignIn() || method == twofa.Passkey || method == "" || method == remember.Method {
		return false
	}
	if _, err := r.Cookie(m.ck.name(inviteLaterCookie)); err == nil {
		return false
	}
	st, err := m.tf.WebAuthn.State(r.Context(), userID)
	if err != nil || st.Disabled {
		return false
	}
	return !slices.ContainsFunc(st.Keys, func(k webauthn.Key) bool { return k.Passkey })
}

// inviteURL is the invitation page, going on to next.
func (m *Middleware) inviteURL(next string) string {
	return m.cfg.Path + "invite?" + url.Values{"next": {next}}.Encode()
}

// invite shows the invitation to create a passkey, or sends on a user who
// is not to be invited (any more).
func (m *Middleware) invite(w http.ResponseWriter, r *http.Request) {
	userID, _, ok := m.user(w, r)
	if !ok {
		return
	}
	p := m.page(r)
	mark, _ := FromContext(r.Context())
	if !m.mayInvite(r, userID, mark.Method) {
		http.Redirect(w, r, p.Next, http.StatusSeeOther)
		return
	}
	m.render(w, http.StatusOK, "invite", p)
}

// inviteLater is the invitation's "Not now": this device is not invited
// again for InviteLaterFor, and the user goes on.
func (m *Middleware) inviteLater(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := m.user(w, r); !ok {
		return
	}
	http.SetCookie(w, m.ck.cookie(m.ck.name(inviteLaterCookie), "1", int(InviteLaterFor/time.Second)))
	http.Redirect(w, r, localPath(r.FormValue("next"), m.cfg.Home), http.StatusSeeOther)
}
