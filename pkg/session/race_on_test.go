//go:build race

package session

// raceEnabled: the race detector instruments every memory access, the
// key schedules of pkg/mppe ~50 times over; timing ratios do not hold.
const raceEnabled = true
