package kmod

import (
	"fmt"
	"sync"
)

// Load calls load for each module of order (a LoadOrder result), up to workers at a time.
// A module starts once the modules it needs (its modules.dep entries) and its soft
// pre-dependencies have been tried; pre maps a module name to the names of modules that
// should load before it (ParseSoftdep's names resolved with Aliases.Resolve). Only the
// dependencies that come earlier in order count, so the waits cannot form a cycle; a soft
// dependency later in order is not waited for. A module whose hard dependency failed is not
// tried: the kernel would refuse it for the missing symbols. Load returns one error per
// module that failed or was not tried, in order.
func Load(order []Module, pre map[string][]string, workers int, load func(Module) error) []error {
	if workers < 1 {
		workers = 1
	}
	type state struct {
		done chan struct{}
		err  error
	}
	byPath := map[string]*state{}
	byName := map[string]*state{}
	states := make([]*state, len(order))
	for i, m := range order {
		s := &state{done: make(chan struct{})}
		states[i] = s
		byPath[m.Path] = s
		byName[m.Name] = s
	}
	sem := make(chan struct{}, workers)
	var wg sync.WaitGroup
	seen := map[*state]bool{}
	for i, m := range order {
		seen[states[i]] = true // earlier entries only: no cycles
		var hard []*state
		var hardNames []string
		for _, d := range m.Deps {
			if s := byPath[d]; s != nil && seen[s] && s != states[i] {
				hard = append(hard, s)
				hardNames = append(hardNames, Name(d))
			}
		}
		var soft []*state
		for _, n := range pre[m.Name] {
			if s := byName[Name(n)]; s != nil && seen[s] && s != states[i] {
				soft = append(soft, s)
			}
		}
		wg.Add(1)
		go func(m Module, s *state) {
			defer wg.Done()
			defer close(s.done)
			for _, d := range soft {
				<-d.done
			}
			for j, d := range hard {
				<-d.done
				if d.err != nil {
					s.err = fmt.Errorf("module %s: not loaded: it needs %s, which failed", m.Name, hardNames[j])
				}
			}
			if s.err != nil {
				return
			}
			sem <- struct{}{}
			s.err = load(m)
			<-sem
		}(m, states[i])
	}
	wg.Wait()
	var errs []error
	for _, s := range states {
		if s.err != nil {
			errs = append(errs, s.err)
		}
	}
	return errs
}
