package main

import (
	"maps"
	"testing"

	"github.com/pptpbox/pptpbox/pkg/config"
)

func TestStaleUsers(t *testing.T) {
	old := []config.User{
		{Name: "alice", Password: "a"},
		{Name: "bob", Password: "b"},
		{Name: "carol", Password: "c"},
		{Name: "dave", Password: "d", IP: "10.0.0.5"},
		{Name: "erin", Password: "e", IP: "*"},
	}
	now := []config.User{
		{Name: "alice", Password: "a2"},
		{Name: "carol", Password: "c"},
		{Name: "dave", Password: "d", IP: "10.0.0.6"},
		{Name: "erin", Password: "e"}, // "*" and "" both mean the pool
		{Name: "frank", Password: "f"},
	}
	want := map[string]string{"alice": "password changed", "bob": "user removed", "dave": "fixed address changed"}
	if got := staleUsers(old, now); !maps.Equal(got, want) {
		t.Fatalf("staleUsers = %v, want %v", got, want)
	}
}
