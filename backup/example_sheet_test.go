package backup_test

import (
	"bytes"
	"fmt"
	"time"

	"golang.org/x/text/language"

	"github.com/twofa-go/twofa/backup"
	"github.com/twofa-go/twofa/i18n"
)

// The codes as a text download, in Ukrainian; WritePDF prints the same
// sheet, with the Go fonts embedded.
func ExampleSheet_WriteText() {
	s := backup.Sheet{
		Issuer: "Acme", Account: "Ελένη", Date: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
		Codes:   []string{"abcd-efgh", "ijkm-npqr"},
		Printer: i18n.Default().Printer(language.Ukrainian),
	}
	var text bytes.Buffer
	if err := s.WriteText(&text); err != nil {
		panic(err)
	}
	fmt.Print(text.String())
	// Output:
	// Резервні коди для Acme
	// Обліковий запис: Ελένη
	// Створено: 23 листопада 2026 р.
	//
	//  1. abcd-efgh
	//  2. ijkm-npqr
	//
	// Кожен код діє лише один раз. Зберігайте їх у надійному місці, наприклад разом із важливими документами або в менеджері паролів. Якщо створити нові коди, усі ці перестануть діяти.
}
