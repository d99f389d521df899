package main

import (
	"fmt"
	"math"
	"os/exec"
	"strings"
)

// Plot draws rows 3 and 5 of r as an SVG: throughput against the number
// of sessions (log scale, with min(N, cores) × one session dashed), and
// boxd's resident memory against idle sessions (with the 20 KiB/session
// goal dashed). A panel without data says so.
func Plot(r *Report) string {
	const w, h = 880, 360
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	m := r.Machine
	fmt.Fprintf(&b, `<text x="%d" y="18" text-anchor="middle" font-size="13">make bench, %s: %s, %d cores, Linux %s</text>`+"\n", w/2, m.Date.Format("2006-01-02"), esc(m.CPU), m.Cores, esc(m.Kernel))

	left := panel{x: 60, y: 40, w: 360, h: 270, title: "(3) N sessions: Mbit/s boxd delivered", xlabel: "sessions (log scale)", ylabel: "Mbit/s", logX: true}
	var pts, ideal []point
	var one float64
	for _, p := range r.Parallel {
		if p.Sessions == 1 {
			one = p.DeliveredMbps
		}
	}
	for _, p := range r.Parallel {
		pts = append(pts, point{float64(p.Sessions), p.DeliveredMbps})
		if one > 0 {
			ideal = append(ideal, point{float64(p.Sessions), float64(min(p.Sessions, m.Cores)) * one})
		}
	}
	left.draw(&b, pts, ideal, "min(N, cores) × one session")

	right := panel{x: 500, y: 40, w: 340, h: 270, title: "(5) idle sessions: boxd RSS", xlabel: "sessions", ylabel: "MB"}
	pts, ideal = nil, nil
	for _, p := range r.IdleSeries {
		pts = append(pts, point{float64(p.Sessions), float64(p.RSSBytes) / 1e6})
	}
	if len(r.IdleSeries) > 0 {
		base := float64(r.IdleSeries[0].RSSBytes) / 1e6
		for _, p := range r.IdleSeries {
			ideal = append(ideal, point{float64(p.Sessions), base + float64(p.Sessions)*20*1024/1e6})
		}
	}
	right.draw(&b, pts, ideal, "goal: 20 KiB per session")
	b.WriteString("</svg>\n")
	return b.String()
}

type point struct{ x, y float64 }

type panel struct {
	x, y, w, h            float64
	title, xlabel, ylabel string
	logX                  bool
}

func (p panel) draw(b *strings.Builder, data, ref []point, refLabel string) {
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" font-weight="bold">%s</text>`+"\n", p.x+p.w/2, p.y-6, esc(p.title))
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#888"/>`+"\n", p.x, p.y, p.w, p.h)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle">%s</text>`+"\n", p.x+p.w/2, p.y+p.h+34, esc(p.xlabel))
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" transform="rotate(-90 %.0f %.0f)">%s</text>`+"\n", p.x-44, p.y+p.h/2, p.x-44, p.y+p.h/2, esc(p.ylabel))
	if len(data) == 0 {
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="middle" fill="#888">not measured in this run</text>`+"\n", p.x+p.w/2, p.y+p.h/2)
		return
	}
	fx := func(v float64) float64 { return v }
	if p.logX {
		fx = func(v float64) float64 { return math.Log2(math.Max(v, 1)) }
	}
	x0, x1, y1 := math.Inf(1), math.Inf(-1), 0.0
	for _, d := range append(append([]point{}, data...), ref...) {
		x0, x1, y1 = math.Min(x0, fx(d.x)), math.Max(x1, fx(d.x)), math.Max(y1, d.y)
	}
	if x1 == x0 {
		x1 = x0 + 1
	}
	y1 = niceCeil(y1 * 1.05)
	px := func(v float64) float64 { return p.x + (fx(v)-x0)/(x1-x0)*p.w }
	py := func(v float64) float64 { return p.y + p.h - v/y1*p.h }
	for i := 0; i <= 4; i++ {
		v := y1 * float64(i) / 4
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n",
			p.x, py(v), p.x+p.w, py(v), p.x-4, py(v)+4, num(v))
	}
	for _, d := range data {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", px(d.x), p.y+p.h+16, num(d.x))
	}
	line := func(pts []point, style string) {
		var s []string
		for _, d := range pts {
			s = append(s, fmt.Sprintf("%.1f,%.1f", px(d.x), py(d.y)))
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" %s/>`+"\n", strings.Join(s, " "), style)
	}
	if len(ref) > 0 {
		line(ref, `stroke="#999" stroke-dasharray="5,4"`)
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" fill="#777">- - %s</text>`+"\n", p.x+8, p.y+16, esc(refLabel))
	}
	line(data, `stroke="#1f5fbf" stroke-width="2"`)
	for _, d := range data {
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="#1f5fbf"><title>%s: %s</title></circle>`+"\n", px(d.x), py(d.y), num(d.x), num(d.y))
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func num(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// gitCommit is the tree's commit ("" outside git).
func gitCommit() string {
	out, err := exec.Command("git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
