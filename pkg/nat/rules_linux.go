package nat

import (
	"fmt"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

// Rule is one rule of the table as the kernel has it: its chain, its
// comment, and the counter it counts in (a named one, shared by the rules
// naming it, or its own anonymous one).
type Rule struct {
	Chain   string
	Comment string
	Counter string // the named counter ("" for none or an anonymous one)
	Counted bool   // Packets and Bytes are a counter's
	Packets uint64
	Bytes   uint64
}

// ReadRules returns the table's rules, chain by chain in the kernel's
// order, with their counters, and the named counters (as ReadCounters).
func ReadRules() ([]Rule, []Counter, error) {
	counters, err := ReadCounters()
	if err != nil {
		return nil, nil, err
	}
	byName := map[string]Counter{}
	for _, c := range counters {
		byName[c.Name] = c
	}
	c, err := nftables.New()
	if err != nil {
		return nil, nil, fmt.Errorf("nat: rules: netlink: %w", err)
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, nil, fmt.Errorf("nat: chains of table inet %s: %w", TableName, err)
	}
	t := &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
	var out []Rule
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != TableName {
			continue
		}
		rules, err := c.GetRules(t, ch)
		if err != nil {
			return nil, nil, fmt.Errorf("nat: rules of chain %s: %w", ch.Name, err)
		}
		for _, r := range rules {
			out = append(out, describeRule(ch.Name, r, byName))
		}
	}
	return out, counters, nil
}

// describeRule reads a rule's comment and counter.
func describeRule(chain string, r *nftables.Rule, named map[string]Counter) Rule {
	out := Rule{Chain: chain}
	out.Comment, _ = userdata.GetString(r.UserData, userdata.TypeComment)
	for _, e := range r.Exprs {
		switch e := e.(type) {
		case *expr.Objref:
			if e.Type != int(nftables.ObjTypeCounter) {
				continue
			}
			out.Counter, out.Counted = e.Name, true
			if c, ok := named[e.Name]; ok {
				out.Packets, out.Bytes = c.Packets, c.Bytes
			}
		case *expr.Counter:
			out.Counted, out.Packets, out.Bytes = true, e.Packets, e.Bytes
		}
	}
	return out
}
