package extws

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

type CalculateRequest struct {
	Numbers []int64 `json:"numbers"`
}

type CalculateResponse struct {
	Result int64 `json:"result"`
}

type WhoAmIRequest struct{}

type WhoAmIResponse struct {
	User *User `json:"user"`
}

type Point struct {
	X float64 `json:"x"`
	Y float64 `json:"y,omitempty"`
}

type Shape struct {
	Name   string           `json:"name"`
	Points []Point          `json:"points"`
	Tags   map[string]int32 `json:"tags,omitempty"`
	Note   *string          `json:"note"`
	Next   *Shape           `json:"next,omitempty"`
	Any    any              `json:"any,omitempty"`
	hidden int
}

type Changed struct {
	Count int64 `json:"count"`
}

func reset() {
	routes, pushes, onConnect, onDisconnect, Name = nil, nil, nil, nil, "calc"
	Register(func(req CalculateRequest, _ *User) (CalculateResponse, error) {
		if len(req.Numbers) == 0 {
			return CalculateResponse{}, Close(4000, "empty")
		}
		var sum int64
		for _, n := range req.Numbers {
			sum += n
		}
		return CalculateResponse{Result: sum}, nil
	})
	Handle("WhoAmIRequest", func(_ WhoAmIRequest, user *User) (WhoAmIResponse, error) {
		return WhoAmIResponse{User: user}, nil
	})
}

func problem(t *testing.T, target any, data string) string {
	t.Helper()
	err := decodeRequest(data, target)
	if err == nil {
		t.Fatalf("%s was accepted", data)
	}
	return err.Error()
}

func TestIntegers(t *testing.T) {
	var req CalculateRequest
	if err := decodeRequest(`{"numbers":[1,-2,9223372036854775807],"x":1}`, &req); err != nil ||
		!reflect.DeepEqual(req.Numbers, []int64{1, -2, 9223372036854775807}) {
		t.Fatal(req, err)
	}
	for _, bad := range []string{"1.5", `"1"`, "true", "9223372036854775808", "-0", "1e2", "1.0", "null"} {
		want := "numbers[0]: expected an integer, got " + bad
		if got := problem(t, &CalculateRequest{}, `{"numbers":[`+bad+`]}`); got != want {
			t.Errorf("%s: got %q, want %q", bad, got, want)
		}
	}
	var small struct {
		N int8   `json:"n"`
		U uint32 `json:"u"`
	}
	if got := problem(t, &small, `{"n":128,"u":1}`); got != "n: expected an integer that fits in 8 bits, got 128" {
		t.Error(got)
	}
	if got := problem(t, &small, `{"n":1,"u":-1}`); got != "u: expected a non-negative integer that fits in 32 bits, got -1" {
		t.Error(got)
	}
}

func TestShapes(t *testing.T) {
	cases := map[string]string{
		`{}`:                "missing field numbers",
		`null`:              "missing field numbers",
		`[1,2]`:             "expected an object, got an array",
		`{"numbers":1}`:     "numbers: expected an array, got 1",
		`{"numbers":null}`:  "numbers: expected an array, got null",
		`{"Numbers":[1]}`:   "missing field numbers",
		`{"numbers":[1]} x`: "not JSON: invalid character 'x' looking for beginning of value",
		`{"numbers":[{"a":"` + strings.Repeat("x", 50) + `"}]}`: "numbers[0]: expected an integer, got an object",
	}
	for data, want := range cases {
		if got := problem(t, &CalculateRequest{}, data); got != want && !strings.HasPrefix(got, "not JSON") {
			t.Errorf("%s: got %q, want %q", data, got, want)
		}
	}
	if got := problem(t, &Shape{}, `{"name":"a","points":[{}],"note":null}`); got != "missing field points[0].x" {
		t.Error(got)
	}
	if got := problem(t, &Shape{}, `{"name":"a","points":[],"tags":{"k":"v"}}`); got != `tags.k: expected an integer, got "v"` {
		t.Error(got)
	}
	var s Shape // note, a pointer, is optional
	if err := decodeRequest(`{"name":"a","points":[{"x":1},{"x":2.5,"y":-1}],"next":{"name":"b","points":[]},"any":[1,"x"]}`, &s); err != nil {
		t.Fatal(err)
	}
	if s.Points[1].Y != -1 || s.Next.Name != "b" || s.Note != nil || !reflect.DeepEqual(s.Any, []any{1.0, "x"}) {
		t.Errorf("%+v", s)
	}
}

func TestDispatch(t *testing.T) {
	reset()
	if got := messageTypes(); !reflect.DeepEqual(got, []string{"CalculateRequest", "WhoAmIRequest"}) {
		t.Fatal(got)
	}
	check := func(msgType, data string, user *User, wantType, wantData string) {
		t.Helper()
		gotType, gotData, err := dispatch(msgType, data, user)
		if err != nil || gotType != wantType || gotData != wantData {
			t.Errorf("%s %s: %s %s %v", msgType, data, gotType, gotData, err)
		}
	}
	check("CalculateRequest", `{"numbers":[2,2]}`, nil, "CalculateResponse", `{"result":4}`)
	check("WhoAmIRequest", "null", nil, "WhoAmIResponse", `{"user":null}`)
	f := false
	check("WhoAmIRequest", "{}", &User{ID: 1, FirstName: "A", IsBot: &f}, "WhoAmIResponse", `{"user":{"id":1,"is_bot":false,"first_name":"A"}}`)
	_, _, err := dispatch("CalculateRequest", `{"numbers":[1.5]}`, nil)
	if err.Error() != "invalid CalculateRequest: numbers[0]: expected an integer, got 1.5" {
		t.Error(err)
	}
	_, _, err = dispatch("CalculateRequest", `{"numbers":[]}`, nil)
	var e *Error
	if !errors.As(err, &e) || !e.CloseConnection || e.CloseCode != 4000 || e.Message != "empty" {
		t.Error(err)
	}
	if _, _, err = dispatch("Nope", "{}", nil); err.Error() != "calc does not handle Nope" {
		t.Error(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a second CalculateRequest handler was accepted")
		}
	}()
	Register(func(CalculateRequest, *User) (CalculateResponse, error) { return CalculateResponse{}, nil })
}

func TestDescribe(t *testing.T) {
	reset()
	OnDisconnect(func(*User) {})
	Pushes(Changed{})
	text := describe()
	t.Log(text)
	var d map[string]any
	if err := json.Unmarshal([]byte(text), &d); err != nil {
		t.Fatal(err)
	}
	want := `{"types":{"CalculateRequest":{"request":{"title":"CalculateRequest","type":"object","properties":{"numbers":{"type":"array","items":{"type":"integer","format":"int64"}}},"required":["numbers"]},"reply":"CalculateResponse","reply_schema":{"title":"CalculateResponse","type":"object","properties":{"result":{"type":"integer","format":"int64"}},"required":["result"]}},`
	if !strings.HasPrefix(text, want) {
		t.Error(text)
	}
	if !strings.Contains(text, `"pushes":{"Changed":{"title":"Changed"`) || !strings.HasSuffix(text, `"hooks":["on-disconnect"]}`) {
		t.Error(text)
	}
	shape := schemaOf(reflect.TypeOf(Shape{}), false)
	var b strings.Builder
	writeJSON(&b, shape)
	for _, part := range []string{
		`"required":["name","points"]`,
		`"points":{"type":"array","items":{"$ref":"#/$defs/Point"}}`,
		`"note":{"anyOf":[{"type":"string"},{"type":"null"}]}`,
		`"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}`,
		`"tags":{"type":"object","additionalProperties":{"type":"integer","format":"int32"}}`,
		`"$defs":{"Point":{"title":"Point","type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x"]}}`,
	} {
		if !strings.Contains(b.String(), part) {
			t.Errorf("%s lacks %s", b.String(), part)
		}
	}
}

func TestPointerModels(t *testing.T) {
	reset()
	Handle("Sum", func(req *CalculateRequest, _ *User) (*CalculateResponse, error) {
		return &CalculateResponse{Result: int64(len(req.Numbers))}, nil
	})
	replyType, data, err := dispatch("Sum", `{"numbers":[5,6]}`, nil)
	if err != nil || replyType != "CalculateResponse" || data != `{"result":2}` {
		t.Fatal(replyType, data, err)
	}
	if d := describe(); !strings.Contains(d, `"Sum":{"request":{"title":"CalculateRequest","type":"object"`) ||
		!strings.Contains(d, `"reply":"CalculateResponse","reply_schema":{"title":"CalculateResponse"`) {
		t.Error(d)
	}
}

func TestMapsAndBadModels(t *testing.T) {
	type Key string
	var m struct {
		Scores map[Key]int64 `json:"scores"`
	}
	if err := decodeRequest(`{"scores":{"a":1,"b":2}}`, &m); err != nil || m.Scores["b"] != 2 {
		t.Fatal(m, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("a slice request model was accepted")
		}
	}()
	Handle("Bad", func([]int64, *User) (CalculateResponse, error) { return CalculateResponse{}, nil })
}
