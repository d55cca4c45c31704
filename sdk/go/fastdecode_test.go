package extws

import (
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
)

type inner struct {
	Deep int32 `json:"deep"`
}

type Base struct {
	ID   int64  `json:"id"`
	Kind string `json:"kind,omitempty"`
}

type myInt int

type Everything struct {
	Base
	inner
	B     bool                `json:"b,omitempty"`
	I8    int8                `json:"i8,omitempty"`
	U     uint                `json:"u,omitempty"`
	U16   uint16              `json:"u16,omitempty"`
	F32   float32             `json:"f32,omitempty"`
	F     float64             `json:"f,omitempty"`
	S     string              `json:"s,omitempty"`
	P     *int64              `json:"p"`
	PP    **string            `json:"pp"`
	Ss    []string            `json:"ss,omitempty"`
	Bs    []byte              `json:"bs,omitempty"`
	M     map[string][]bool   `json:"m,omitempty"`
	K     map[myKey]myInt     `json:"k,omitempty"`
	A     any                 `json:"a,omitempty"`
	T     time.Time           `json:"t,omitempty"`
	TP    *time.Time          `json:"tp"`
	Shape *Shape              `json:"shape"`
	Arr   [2]int              `json:"arr,omitempty"`
	Up    uintptr             `json:"up,omitempty"`
	Tree  Tree                `json:"tree,omitempty"`
	Pt    Point               `json:"pt,omitempty"`
	Stamp struct{ time.Time } `json:"stamp,omitempty"`
	NoTag int
	skip  int
}

type myKey string

type Tree map[string]Tree

type Twice struct {
	Base
	ID int64 `json:"id"`
}

type Hidden struct {
	myInt
	N int `json:"n"`
}

// TestFastMatchesSlow checks that the fast decoder only succeeds where decodeRequest does,
// with the same value, over hand-written inputs and random mutations of them.
func TestFastMatchesSlow(t *testing.T) {
	inputs := []string{
		`{"numbers":[1,2,3,4,5,6,7,8,9,10]}`, ` {"numbers" : [ -1 , 0 ,9223372036854775807 ] } `,
		`{"numbers":[]}`, `null`, ` null `, `{}`, `[1]`, `{"numbers":[1.5]}`, `{"numbers":[-0]}`,
		`{"numbers":[1],"numbers":[2]}`, `{"numbers":[1]}}`, `{"numbers":[1]} x`, `{"numbers":[01]}`,
		`{"numbers":[1e2]}`, `{"numbers":[9223372036854775808]}`, `{"num\u0062ers":[7]}`,
		`{"x":{"y":[1,{"z":"\ud800"}]},"numbers":[3]}`, `{"numbers":[1,]}`, `{"numbers":[1]`, ``,
		`{"id":1,"deep":2,"b":true,"i8":-128,"u":18446744073709551615,"u16":65535,"f32":1.5e3,` +
			`"f":-0,"s":"h\u00e9llo \"q\" \ud83d\ude00 é","p":7,"pp":"x","ss":["a","b"],"bs":[1,255],` +
			`"m":{"a":[true,false],"":[]},"k":{"k":3},"a":[1,"x",{"y":null,"z":1e400}],` +
			`"t":"2024-01-02T03:04:05Z","tp":null,"shape":{"name":"s","points":[{"x":1,"y":2}],` +
			`"next":{"name":"n","points":[]},"tags":{"a":1},"note":"n","any":true},"NoTag":5,` +
			`"tree":{"a":{"b":{}}}}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":"2024-01-02T03:04:05+01:00"}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":null,"t":"bad"}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":null,"arr":[1,2]}`,
		`{"id":1,"deep":1,"NoTag":1,"stamp":"2024-01-02T03:04:05Z"}`, `{"id":1,"deep":1,"NoTag":1,"stamp":{}}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":null,"up":1}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":null,"s":"\xff\xfe","k":{"\xff":1}}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":null,"u16":65536}`,
		`{"id":1,"pp":null,"p":null,"shape":null,"tp":null,"f32":1e39}`,
		`{"id":1,"deep":1,"NoTag":1,"pt":{"x":1,"y":2},"pt":{"x":3}}`, `{"id":1,"n":2}`, `{"n":2,"myInt":3}`, `{"n":2}`,
		`{"name":"a","points":[{"x":1}],"note":null,"Next":1}`, `{"user":{"id":1,"first_name":"A"}}`,
	}
	models := []func() any{
		func() any { return new(CalculateRequest) }, func() any { return new(*CalculateRequest) },
		func() any { return new(Everything) }, func() any { return new(Shape) },
		func() any { return new(Twice) }, func() any { return new(Hidden) },
		func() any { return new(WhoAmIRequest) }, func() any { return new(WhoAmIResponse) },
	}
	rnd := rand.New(rand.NewSource(1))
	const alphabet = `{}[]",:0123456789.-eE tfnul\ab`
	all := append([]string(nil), inputs...)
	for _, in := range inputs {
		for k := 0; k < 300 && in != ""; k++ {
			b := []byte(in)
			i := rnd.Intn(len(b))
			switch rnd.Intn(3) {
			case 0:
				b = append(b[:i], b[i+1:]...)
			case 1:
				b[i] = alphabet[rnd.Intn(len(alphabet))]
			default:
				b = append(b[:i], append([]byte{alphabet[rnd.Intn(len(alphabet))]}, b[i:]...)...)
			}
			all = append(all, string(b))
		}
	}
	fastOK := 0
	for _, model := range models {
		typ := reflect.TypeOf(model()).Elem()
		dec := decoderFor(typ)
		for _, data := range all {
			fast, slow := model(), model()
			ok := decodeFast(dec, data, reflect.ValueOf(fast).Elem())
			err := safeDecode(data, slow)
			if !ok {
				continue
			}
			fastOK++
			if err != nil {
				t.Errorf("%s %s: fast decoded, slow failed: %v", typ, data, err)
			} else if !reflect.DeepEqual(fast, slow) {
				t.Errorf("%s %s: fast %+v, slow %+v", typ, data, fast, slow)
			}
		}
	}
	if fastOK < 500 {
		t.Errorf("the fast path decoded only %d inputs", fastOK)
	}
}

func safeDecode(data string, target any) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &dataError{problem: "panic"}
		}
	}()
	return decodeRequest(data, target)
}

// TestFastPathTaken checks that the usual requests do not fall back to decodeRequest.
func TestFastPathTaken(t *testing.T) {
	for _, c := range []struct {
		model any
		data  string
	}{
		{&CalculateRequest{}, `{"numbers":[1,2,3,4,5,6,7,8,9,10]}`},
		{&CalculateRequest{}, `{"numbers":[],"other":{"a":[null,true,"\u00e9"]}}`},
		{&WhoAmIRequest{}, `null`},
		{&Shape{}, `{"name":"a","points":[{"x":1,"y":2.5}],"tags":{"k":1},"note":null,"any":[1]}`},
		{&Everything{}, `{"id":1,"deep":2,"NoTag":3,"pp":"x","tp":"2024-01-02T03:04:05Z","a":{"b":1}}`},
	} {
		v := reflect.ValueOf(c.model).Elem()
		if !decodeFast(decoderFor(v.Type()), c.data, v) {
			t.Errorf("%T %s: the fast path gave up", c.model, c.data)
		}
	}
	var s Shape
	if !decodeFast(decoderFor(reflect.TypeOf(s)), `{"name":"é\u0041","points":[]}`, reflect.ValueOf(&s).Elem()) ||
		s.Name != "éA" || s.Points == nil || !strings.HasPrefix(s.Name, "é") {
		t.Errorf("%+v", s)
	}
}
