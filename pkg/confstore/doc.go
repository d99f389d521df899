// Package confstore is the box's staged configuration: the candidate
// config that the console and boxctl edit (TOML text edits that keep the
// operator's comments and layout), its check and diff against the running
// config, and commits of it: an atomic write of the config store with the
// previous config kept as the rollback point, commit confirmed (a revert
// unless confirmed in time, persisted so that a restart reverts too) and
// rollback. Applying a config to the running box is the caller's
// (ApplyFunc); validation is pkg/config's.
package confstore
