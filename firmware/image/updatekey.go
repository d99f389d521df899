package image

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/pptpbox/pptpbox/firmware/update"
)

// DevKey returns the development update key pair kept in the cache directory
// (CACHE/update-key/dev.key and dev.pub), making it on first use. An image built without
// -update-key trusts this key, and `make update` signs with it: a developer's own boxes
// accept their own builds. A release is built with -update-key naming the release key's
// public half, whose private half never sits in a build cache.
func DevKey(cache string) (priv, pub string, err error) {
	dir := filepath.Join(cache, "update-key")
	priv, pub = filepath.Join(dir, "dev.key"), filepath.Join(dir, "dev.pub")
	if _, err := os.Stat(priv); err == nil {
		return priv, pub, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", err
	}
	privPEM, pubPEM, err := update.GenerateKey()
	if err != nil {
		return "", "", err
	}
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(priv, privPEM, 0o600); err != nil {
		return "", "", fmt.Errorf("dev update key: %w", err)
	}
	return priv, pub, nil
}

// stageUpdateKey puts the public key updates must be signed with at /etc/pptpbox/update.pub.
func (b *builder) stageUpdateKey(stage string) error {
	path := b.opt.UpdateKey
	if path == "" {
		var err error
		if _, path, err = DevKey(b.opt.Cache); err != nil {
			return err
		}
	}
	pub, err := update.ReadPublicKey(path)
	if err != nil {
		return fmt.Errorf("update key: %w", err)
	}
	b.progress("update key %s (%s)", update.KeyID(pub), path)
	return os.WriteFile(filepath.Join(stage, "etc", "pptpbox", "update.pub"), update.PublicPEM(pub), 0o644)
}
