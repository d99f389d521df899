package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/pptpbox/pptpbox/pkg/login"
)

// maxPassword bounds what hash-password reads (bcrypt uses 72 bytes).
const maxPassword = 1024

// hashPassword is `boxd hash-password`: it reads a password and prints
// login.Hash's salted hash of it, for [console] password_hash. On a
// terminal it asks twice without echo (golang.org/x/term); otherwise it
// reads the first line of stdin (`echo pw | boxd hash-password`).
func hashPassword(args []string, in io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		return errors.New("usage: boxd hash-password (the password comes from stdin)")
	}
	var pw string
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		a, err := ask("Password: ")
		if err != nil {
			return err
		}
		b, err := ask("Again: ")
		if err != nil {
			return err
		}
		if a != b {
			return errors.New("the two passwords differ")
		}
		pw = a
	} else {
		line, err := bufio.NewReader(io.LimitReader(in, maxPassword+1)).ReadString('\n')
		if err != nil && err != io.EOF {
			return err
		}
		if len(line) > maxPassword {
			return fmt.Errorf("password longer than %d bytes", maxPassword)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	h, err := login.Hash(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}
