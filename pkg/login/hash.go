// Package login checks the console password: a salted bcrypt hash from the
// config ([console] password_hash, made by `boxd hash-password`).
package login

import (
	"errors"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// Cost is the bcrypt cost of new hashes: about 50-100 ms on a small ARM box,
// slow enough to make offline guessing of a leaked config expensive.
const Cost = 10

// Hash returns a salted hash of password for [console] password_hash.
func Hash(password string) (string, error) {
	if password == "" {
		return "", errors.New("empty password")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), Cost)
	if err != nil {
		return "", err
	}
	return string(h), nil
}

// CheckHash says whether h is a hash Verify can use (for config validation).
func CheckHash(h string) error {
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return fmt.Errorf("not a bcrypt hash (make one with boxd hash-password): %v", err)
	}
	return nil
}

// Verify reports whether password matches hash h.
func Verify(h, password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil
}
