package pdffont_test

import (
	"fmt"

	"golang.org/x/image/font/gofont/goregular"

	"github.com/twofa-go/twofa/pdffont"
)

// An application parses its font once, at start-up, and passes it to
// twofa.Config.Font (or totp.Paper.Font and backup.Sheet.Font). Here Go
// Regular stands in for a font with the letters the application needs,
// such as os.ReadFile("NotoSansSC-Regular.ttf") would give.
func Example() {
	font, err := pdffont.Parse(goregular.TTF)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(font.Name())
	fmt.Println("Ł:", font.Covers('Ł'), "Д:", font.Covers('Д'), "李:", font.Covers('李'))
	// Output:
	// Go Regular
	// Ł: true Д: true 李: false
}
