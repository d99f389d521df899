package nat

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Apply replaces the pptpbox table with the one built from p, in a single
// netlink batch: the kernel commits it whole or not at all. Invalid Params
// are refused before the kernel is asked, so the previous table stays.
// It acts on the network namespace of the calling thread.
func Apply(ctx context.Context, p Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nat: apply: %w", err)
	}
	rs := build(p)
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nat: apply: netlink: %w", err)
	}
	// Adding the table first makes the delete valid when it does not exist
	// yet; create-if-missing, delete, create is the documented way to
	// replace a table atomically (nft -f with "table x; delete table x").
	c.AddTable(rs.table)
	c.DelTable(rs.table)
	c.AddTable(rs.table)
	for _, o := range rs.counters {
		c.AddObj(o)
	}
	for _, o := range rs.helpers {
		c.AddObj(o)
	}
	for _, ch := range rs.chains {
		c.AddChain(ch)
	}
	for _, r := range rs.rules {
		c.AddRule(r)
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nat: apply table inet %s (%d rules): %w", TableName, len(rs.rules), err)
	}
	return nil
}

// Remove deletes the pptpbox table; a missing table is not an error.
func Remove() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("nat: remove: netlink: %w", err)
	}
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	c.DelTable(t)
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("nat: remove table inet %s: %w", TableName, err)
	}
	return nil
}

// Counter is one named counter of the table.
type Counter struct {
	Name           string
	Packets, Bytes uint64
}

// ReadCounters returns the table's named counters (see the Counter* names).
func ReadCounters() ([]Counter, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("nat: counters: netlink: %w", err)
	}
	// GetNamedObjects, not GetObjects: the latter's legacy decoder knows
	// only counters and quotas and fails the whole dump on the table's ct
	// helper object ("malformed stateful object").
	objs, err := c.GetNamedObjects(&nftables.Table{Name: TableName, Family: nftables.TableFamilyINet})
	if err != nil {
		return nil, fmt.Errorf("nat: counters of table inet %s: %w", TableName, err)
	}
	var out []Counter
	for _, o := range objs {
		no, ok := o.(*nftables.NamedObj)
		if !ok || no.Type != nftables.ObjTypeCounter {
			continue
		}
		if co, ok := no.Obj.(*expr.Counter); ok {
			out = append(out, Counter{Name: no.Name, Packets: co.Packets, Bytes: co.Bytes})
		}
	}
	return out, nil
}
