package i18n

// NewFrom is New with the shipped files taken from base, for tests of
// what New checks in them.
var NewFrom = newCatalogue
