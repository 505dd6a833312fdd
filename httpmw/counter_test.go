package httpmw_test

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/twofa-go/twofa/storage"
)

// callCounter counts every call of a store, reads and writes: every
// method of storage.Store's interfaces.
type callCounter struct {
	storage.Store
	n atomic.Int64
}

func (cc *callCounter) TOTP(ctx context.Context, userID string) (storage.TOTPRecord, error) {
	cc.n.Add(1)
	return cc.Store.TOTP(ctx, userID)
}

func (cc *callCounter) PutTOTP(ctx context.Context, rec storage.TOTPRecord) (version int64, err error) {
	cc.n.Add(1)
	return cc.Store.PutTOTP(ctx, rec)
}

func (cc *callCounter) AdvanceTOTPStep(ctx context.Context, userID string, step int64) (advanced bool, err error) {
	cc.n.Add(1)
	return cc.Store.AdvanceTOTPStep(ctx, userID, step)
}

func (cc *callCounter) AdvanceTOTPStepAndResetThrottle(ctx context.Context, userID string, step int64) (advanced bool, err error) {
	cc.n.Add(1)
	return cc.Store.AdvanceTOTPStepAndResetThrottle(ctx, userID, step)
}

func (cc *callCounter) DeleteTOTP(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteTOTP(ctx, userID)
}

func (cc *callCounter) TOTPRecords(ctx context.Context, afterUserID string, limit int) ([]storage.TOTPRecord, error) {
	cc.n.Add(1)
	return cc.Store.TOTPRecords(ctx, afterUserID, limit)
}

func (cc *callCounter) CountTOTP(ctx context.Context) (int, error) {
	cc.n.Add(1)
	return cc.Store.CountTOTP(ctx)
}

func (cc *callCounter) Throttle(ctx context.Context, userID string) (storage.ThrottleState, error) {
	cc.n.Add(1)
	return cc.Store.Throttle(ctx, userID)
}

func (cc *callCounter) SwapThrottle(ctx context.Context, userID string, old, next storage.ThrottleState) (swapped bool, err error) {
	cc.n.Add(1)
	return cc.Store.SwapThrottle(ctx, userID, old, next)
}

func (cc *callCounter) ResetThrottle(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.ResetThrottle(ctx, userID)
}

func (cc *callCounter) BackupSet(ctx context.Context, userID string) (storage.BackupSet, error) {
	cc.n.Add(1)
	return cc.Store.BackupSet(ctx, userID)
}

func (cc *callCounter) ReplaceBackupSet(ctx context.Context, set storage.BackupSet, prevSetID string) (replaced bool, err error) {
	cc.n.Add(1)
	return cc.Store.ReplaceBackupSet(ctx, set, prevSetID)
}

func (cc *callCounter) UseBackupCode(ctx context.Context, userID, setID string, index int, at time.Time) (used bool, err error) {
	cc.n.Add(1)
	return cc.Store.UseBackupCode(ctx, userID, setID, index, at)
}

func (cc *callCounter) UseBackupCodeAndResetThrottle(ctx context.Context, userID, setID string, index int, at time.Time) (used bool, err error) {
	cc.n.Add(1)
	return cc.Store.UseBackupCodeAndResetThrottle(ctx, userID, setID, index, at)
}

func (cc *callCounter) SetBackupDisabled(ctx context.Context, userID string, disabled bool) error {
	cc.n.Add(1)
	return cc.Store.SetBackupDisabled(ctx, userID, disabled)
}

func (cc *callCounter) DeleteBackupSet(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteBackupSet(ctx, userID)
}

func (cc *callCounter) Email(ctx context.Context, userID string) (storage.EmailState, error) {
	cc.n.Add(1)
	return cc.Store.Email(ctx, userID)
}

func (cc *callCounter) PutEmail(ctx context.Context, userID string, disabled bool, since time.Time) error {
	cc.n.Add(1)
	return cc.Store.PutEmail(ctx, userID, disabled, since)
}

func (cc *callCounter) DeleteEmail(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteEmail(ctx, userID)
}

func (cc *callCounter) SwapEmailCode(ctx context.Context, userID string, prev, next *storage.EmailCode) (swapped bool, err error) {
	cc.n.Add(1)
	return cc.Store.SwapEmailCode(ctx, userID, prev, next)
}

func (cc *callCounter) FailEmailCode(ctx context.Context, userID, id string) (failures int, err error) {
	cc.n.Add(1)
	return cc.Store.FailEmailCode(ctx, userID, id)
}

func (cc *callCounter) ConsumeEmailCode(ctx context.Context, userID, id string, maxFailures int) (consumed bool, err error) {
	cc.n.Add(1)
	return cc.Store.ConsumeEmailCode(ctx, userID, id, maxFailures)
}

func (cc *callCounter) ConsumeEmailCodeAndResetThrottle(ctx context.Context, userID, id string, maxFailures int) (consumed bool, err error) {
	cc.n.Add(1)
	return cc.Store.ConsumeEmailCodeAndResetThrottle(ctx, userID, id, maxFailures)
}

func (cc *callCounter) WebAuthnHandle(ctx context.Context, userID string) ([]byte, error) {
	cc.n.Add(1)
	return cc.Store.WebAuthnHandle(ctx, userID)
}

func (cc *callCounter) PutWebAuthnHandle(ctx context.Context, userID string, handle []byte) error {
	cc.n.Add(1)
	return cc.Store.PutWebAuthnHandle(ctx, userID, handle)
}

func (cc *callCounter) WebAuthnDisabled(ctx context.Context, userID string) (bool, error) {
	cc.n.Add(1)
	return cc.Store.WebAuthnDisabled(ctx, userID)
}

func (cc *callCounter) SetWebAuthnDisabled(ctx context.Context, userID string, disabled bool) error {
	cc.n.Add(1)
	return cc.Store.SetWebAuthnDisabled(ctx, userID, disabled)
}

func (cc *callCounter) WebAuthnUserByHandle(ctx context.Context, handle []byte) (userID string, err error) {
	cc.n.Add(1)
	return cc.Store.WebAuthnUserByHandle(ctx, handle)
}

func (cc *callCounter) WebAuthnCredentials(ctx context.Context, userID string) ([]storage.WebAuthnCredential, error) {
	cc.n.Add(1)
	return cc.Store.WebAuthnCredentials(ctx, userID)
}

func (cc *callCounter) AddWebAuthnCredential(ctx context.Context, c storage.WebAuthnCredential) error {
	cc.n.Add(1)
	return cc.Store.AddWebAuthnCredential(ctx, c)
}

func (cc *callCounter) UpdateWebAuthnCredential(ctx context.Context, c storage.WebAuthnCredential) error {
	cc.n.Add(1)
	return cc.Store.UpdateWebAuthnCredential(ctx, c)
}

func (cc *callCounter) DeleteWebAuthnCredential(ctx context.Context, userID string, id []byte) error {
	cc.n.Add(1)
	return cc.Store.DeleteWebAuthnCredential(ctx, userID, id)
}

func (cc *callCounter) DeleteWebAuthnCredentials(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteWebAuthnCredentials(ctx, userID)
}

func (cc *callCounter) PutCeremony(ctx context.Context, c storage.Ceremony, now time.Time, keep int) error {
	cc.n.Add(1)
	return cc.Store.PutCeremony(ctx, c, now, keep)
}

func (cc *callCounter) DeleteCeremonies(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteCeremonies(ctx, userID)
}

func (cc *callCounter) TakeCeremony(ctx context.Context, id string) (storage.Ceremony, error) {
	cc.n.Add(1)
	return cc.Store.TakeCeremony(ctx, id)
}

func (cc *callCounter) BrowserByHash(ctx context.Context, hash []byte) (storage.Browser, error) {
	cc.n.Add(1)
	return cc.Store.BrowserByHash(ctx, hash)
}

func (cc *callCounter) Browsers(ctx context.Context, userID string) ([]storage.Browser, error) {
	cc.n.Add(1)
	return cc.Store.Browsers(ctx, userID)
}

func (cc *callCounter) AddBrowser(ctx context.Context, b storage.Browser, keep int) error {
	cc.n.Add(1)
	return cc.Store.AddBrowser(ctx, b, keep)
}

func (cc *callCounter) TouchBrowser(ctx context.Context, userID, id string, at time.Time) error {
	cc.n.Add(1)
	return cc.Store.TouchBrowser(ctx, userID, id, at)
}

func (cc *callCounter) DeleteBrowser(ctx context.Context, userID, id string) error {
	cc.n.Add(1)
	return cc.Store.DeleteBrowser(ctx, userID, id)
}

func (cc *callCounter) DeleteBrowsers(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteBrowsers(ctx, userID)
}

func (cc *callCounter) AppendLog(ctx context.Context, e storage.LogEntry, keep int, before time.Time) error {
	cc.n.Add(1)
	return cc.Store.AppendLog(ctx, e, keep, before)
}

func (cc *callCounter) Log(ctx context.Context, userID string, limit int) ([]storage.LogEntry, error) {
	cc.n.Add(1)
	return cc.Store.Log(ctx, userID, limit)
}

func (cc *callCounter) DeleteLog(ctx context.Context, userID string) error {
	cc.n.Add(1)
	return cc.Store.DeleteLog(ctx, userID)
}
