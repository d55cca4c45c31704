//go:build wasip1

// Package kv is the tenant's durable key-value state, as JSON values (WIT interface kv).
//
//	var cart Cart
//	found, err := kv.Get("cart:42", &cart)
//	err = kv.Set("cart:42", cart, 24*time.Hour) // 0: no expiry
//	n, err := kv.Increment("visits", 1)
//
// Failures are *extws.Error values ("quota exceeded: ...", "store unavailable: ...",
// "invalid: ..."), so a handler can return them as they are.
package kv

import (
	"encoding/json"
	"time"

	"extws.dev/extws"
	wkv "extws.dev/extws/internal/wit/extws_handler_kv"
	wit "extws.dev/extws/internal/wit/types"
)

func fail(e wkv.KvError) error {
	switch e.Tag() {
	case wkv.KvError_QuotaExceeded:
		return &extws.Error{Message: "quota exceeded: " + e.QuotaExceeded()}
	case wkv.KvError_Unavailable:
		return &extws.Error{Message: "store unavailable: " + e.Unavailable()}
	default:
		return &extws.Error{Message: "invalid: " + e.Invalid()}
	}
}

// Get decodes the JSON value of key into out (with encoding/json) and reports whether key
// exists.
func Get(key string, out any) (bool, error) {
	raw, err := GetBytes(key)
	if raw == nil || err != nil {
		return false, err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return true, &extws.Error{Message: "invalid: the value of " + key + " does not decode: " + err.Error()}
	}
	return true, nil
}

// Set stores value as JSON at key, expiring after ttl (0: never).
func Set(key string, value any, ttl time.Duration) error {
	raw, err := json.Marshal(value)
	if err != nil {
		return &extws.Error{Message: "invalid: " + err.Error()}
	}
	return SetBytes(key, raw, ttl)
}

// GetBytes returns the raw value of key, or nil when it is absent.
func GetBytes(key string) ([]byte, error) {
	r := wkv.Get(key)
	if r.IsErr() {
		return nil, fail(r.Err())
	}
	v := r.Ok()
	if v.IsNone() {
		return nil, nil
	}
	if b := v.Some(); b != nil {
		return b, nil
	}
	return []byte{}, nil
}

// SetBytes stores raw bytes at key, expiring after ttl (0: never).
func SetBytes(key string, value []byte, ttl time.Duration) error {
	ms := wit.None[uint64]()
	if ttl > 0 {
		ms = wit.Some(uint64(ttl.Milliseconds()))
	}
	if r := wkv.Set(key, value, ms); r.IsErr() {
		return fail(r.Err())
	}
	return nil
}

// Delete deletes key and reports whether it existed.
func Delete(key string) (bool, error) {
	r := wkv.Delete(key)
	if r.IsErr() {
		return false, fail(r.Err())
	}
	return r.Ok(), nil
}

// Increment atomically adds delta to the integer at key (absent: 0) and returns the new value.
func Increment(key string, delta int64) (int64, error) {
	r := wkv.Increment(key, delta)
	if r.IsErr() {
		return 0, fail(r.Err())
	}
	return r.Ok(), nil
}

// CompareAndSwap atomically sets key to new if it holds expected (nil: if it is absent), both
// as their encoding/json text, and reports whether it did.
func CompareAndSwap(key string, expected, new any) (bool, error) {
	old := wit.None[[]uint8]()
	if expected != nil {
		raw, err := json.Marshal(expected)
		if err != nil {
			return false, &extws.Error{Message: "invalid: " + err.Error()}
		}
		old = wit.Some(raw)
	}
	raw, err := json.Marshal(new)
	if err != nil {
		return false, &extws.Error{Message: "invalid: " + err.Error()}
	}
	r := wkv.CompareAndSwap(key, old, raw)
	if r.IsErr() {
		return false, fail(r.Err())
	}
	return r.Ok(), nil
}

// ListKeys returns the keys starting with prefix, sorted, at most limit (capped at 1000).
func ListKeys(prefix string, limit int) ([]string, error) {
	if limit < 0 {
		limit = 0
	}
	r := wkv.ListKeys(prefix, uint32(min(limit, 1000)))
	if r.IsErr() {
		return nil, fail(r.Err())
	}
	return r.Ok(), nil
}
