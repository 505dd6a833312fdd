package twofa

import (
	"context"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/i18n"
	"github.com/twofa-go/twofa/pdffont"
)

// Printer returns the language to speak to userID in, for what reaches
// them outside a page (mails, PDFs): the language Config.Language records
// for them if the catalogue has it, otherwise the request's (i18n.FromContext:
// the pages put Accept-Language's or the application's choice there),
// otherwise English.
//
// A failing Config.Language does not stop anything: the mail or PDF goes
// out in the request's language, or English. A security notice matters
// more than its language. The only error is ErrInvalidUserID's.
func (s *Service) Printer(ctx context.Context, userID string) (*i18n.Printer, error) {
	if err := checkUser(userID); err != nil {
		return nil, err
	}
	return printerFor(ctx, s.cat, s.language, userID), nil
}

// Font returns Config.Font: the application's font for the letters the
// PDFs' own fonts lack; nil for none.
func (s *Service) Font() *pdffont.Font { return s.font }

// printerFor is Service.Printer over a catalogue and a Language function;
// package emailotp keeps its own copy of the rule.
func printerFor(ctx context.Context, cat *i18n.Catalogue, lang func(context.Context, string) (string, error), userID string) *i18n.Printer {
	if lang != nil && userID != "" {
		if pref, err := lang(ctx, userID); err == nil && pref != "" {
			if tag, ok := have(cat, pref); ok {
				return cat.Printer(tag)
			}
		}
	}
	if tag, ok := i18n.FromContext(ctx); ok {
		return cat.Printer(tag)
	}
	return cat.Printer(language.English)
}

// have returns the catalogue's language for pref, unless it has none:
// Match's English then is a fallback, not the user's choice, and the
// request's language is the better guess.
func have(cat *i18n.Catalogue, pref string) (language.Tag, bool) {
	tag := cat.Match(pref)
	if tag != language.English {
		return tag, true
	}
	want, err := language.Parse(pref)
	if err != nil {
		return tag, false
	}
	base, _ := want.Base()
	return tag, base.String() == "en"
}
