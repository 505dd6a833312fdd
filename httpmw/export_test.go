package httpmw

// Route is one route of the pages, for the tests.
type Route struct {
	Method, Path string
	// Limit bounds the body of a POST.
	Limit int64
	// Settings marks an API route behind the second step and its step-up
	// window; Input one that reads a JSON body.
	Settings, Input bool
}

// Routes lists the routes of m's pages from the table the mux is built
// from, so that a test walks every route without a list of its own.
func Routes(m *Middleware) []Route {
	var rs []Route
	for _, r := range m.table() {
		limit := int64(MaxFormBody)
		if r.json {
			limit = MaxJSONBody
		}
		path := m.cfg.Path + r.path
		if r.path == "{$}" {
			path = m.cfg.Path
		}
		rs = append(rs, Route{Method: r.method, Path: path, Limit: limit})
	}
	return rs
}

// APIRoutes lists the routes of m's JSON API, from the table its mux is
// built from.
func APIRoutes(m *Middleware) []Route {
	var rs []Route
	for _, r := range m.apiTable() {
		rs = append(rs, Route{Method: r.method, Path: m.cfg.Path + "api/" + r.path, Limit: MaxJSONBody, Settings: r.settings, Input: r.input})
	}
	return rs
}
