// Package window reads the schedule of a DeploymentWindow rule: a cron
// expression in the form CodePipeline documents (seconds, minutes, hours,
// day-of-month, month, day-of-week and an optional year, day-of-week 1-7 or
// SUN-SAT with 1 = Sunday) and a time zone, and says whether a moment lies
// inside the window the expression describes.
//
// The window is the set of moments the expression matches: "* * 9-16 ? *
// MON-FRI" allows every second of 09:00 to 16:59 on weekdays. The parsing
// of the fields is github.com/robfig/cron/v3's; this package translates
// the documented form into it (day-of-week numbers shifted to 0-6) and
// checks the year field itself, which that library does not have.
//
// The day-of-month and day-of-week modifiers L, W and # are refused with a
// clear error: the library has no equivalent, and Stageflow does not
// pretend to evaluate them.
package window

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zones are known even where the system has no zone files

	"github.com/robfig/cron/v3"
)

// Years the year field may name, as CodePipeline documents.
const (
	MinYear = 1970
	MaxYear = 2199
)

// Window is a parsed deployment window.
type Window struct {
	schedule cron.Schedule
	years    map[int]bool // nil: every year
	zone     *time.Location
}

var parser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// Parse reads a cron expression and a time zone name (an IANA name such as
// "Europe/Berlin", or "UTC"; "" means UTC).
func Parse(expr, zone string) (*Window, error) {
	loc, err := LoadZone(zone)
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(expr)
	if len(fields) != 6 && len(fields) != 7 {
		return nil, fmt.Errorf("the cron expression must have 6 fields (seconds, minutes, hours, day-of-month, month, day-of-week) and an optional year, got %d", len(fields))
	}
	for i, f := range fields[:6] {
		if strings.ContainsAny(f, "LW#") && !(i == 5 && isDayName(f)) && !(i == 4 && isMonthName(f)) {
			return nil, fmt.Errorf("field %d (%s) %q: the L, W and # modifiers are not supported by Stageflow", i+1, fieldNames[i], f)
		}
	}
	dow, err := shiftDow(fields[5])
	if err != nil {
		return nil, fmt.Errorf("field 6 (day-of-week) %q: %v", fields[5], err)
	}
	spec := strings.Join(append(fields[:5:5], dow), " ")
	sched, err := parser.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("the cron expression %q: %v", expr, err)
	}
	w := &Window{schedule: sched, zone: loc}
	if len(fields) == 7 {
		if w.years, err = parseYears(fields[6]); err != nil {
			return nil, fmt.Errorf("field 7 (year) %q: %v", fields[6], err)
		}
	}
	return w, nil
}

var fieldNames = []string{"seconds", "minutes", "hours", "day-of-month", "month", "day-of-week"}

// LoadZone loads a time zone by IANA name; "" is UTC. "Local" is refused:
// it would be the server's zone, which the pipeline's author cannot know.
func LoadZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, errors.New(`time zone "Local" is the server's zone; name a zone such as "UTC" or "Europe/Berlin"`)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q; use an IANA name such as \"UTC\" or \"America/New_York\"", name)
	}
	return loc, nil
}

// Contains reports whether t lies inside the window (t is converted to the
// window's time zone).
func (w *Window) Contains(t time.Time) bool {
	t = t.In(w.zone).Truncate(time.Second)
	if w.years != nil && !w.years[t.Year()] {
		return false
	}
	return w.schedule.Next(t.Add(-time.Second)).Equal(t)
}

// NextOpen returns the first moment after t that lies inside the window,
// and false when the window never opens again (its years are past).
func (w *Window) NextOpen(t time.Time) (time.Time, bool) {
	t = t.In(w.zone).Truncate(time.Second)
	for {
		next := w.schedule.Next(t)
		switch {
		case next.IsZero() || next.Year() > MaxYear:
			return time.Time{}, false
		case w.years == nil || w.years[next.Year()]:
			return next, true
		}
		// Jump to the start of the next year the window allows.
		y := next.Year() + 1
		for y <= MaxYear && !w.years[y] {
			y++
		}
		if y > MaxYear {
			return time.Time{}, false
		}
		t = time.Date(y, time.January, 1, 0, 0, 0, 0, w.zone).Add(-time.Second)
	}
}

// Zone is the window's time zone.
func (w *Window) Zone() *time.Location { return w.zone }

var dayNames = []string{"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"}

func isDayName(f string) bool {
	for _, part := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == '-' || r == '/' }) {
		if !containsFold(dayNames, part) && !isDigits(part) && part != "*" && part != "?" {
			return false
		}
	}
	return true
}

var monthNames = []string{"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"}

func isMonthName(f string) bool {
	for _, part := range strings.FieldsFunc(f, func(r rune) bool { return r == ',' || r == '-' || r == '/' }) {
		if !containsFold(monthNames, part) && !isDigits(part) && part != "*" && part != "?" {
			return false
		}
	}
	return true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// shiftDow rewrites day-of-week numbers 1-7 (1 = Sunday) as 0-6; names,
// "*", "?" and step sizes stay as they are.
func shiftDow(f string) (string, error) {
	items := strings.Split(f, ",")
	for i, item := range items {
		rng, step, hasStep := strings.Cut(item, "/")
		bounds := strings.SplitN(rng, "-", 2)
		for j, b := range bounds {
			if !isDigits(b) {
				continue
			}
			n, err := strconv.Atoi(b)
			if err != nil || n < 1 || n > 7 {
				return "", fmt.Errorf("day %q is out of range 1-7 (1 is Sunday)", b)
			}
			bounds[j] = strconv.Itoa(n - 1)
		}
		items[i] = strings.Join(bounds, "-")
		if hasStep {
			items[i] += "/" + step
		}
	}
	return strings.Join(items, ","), nil
}

// parseYears reads the year field: "*", or a list of years, ranges
// (a-b) and steps (a/s, a-b/s, */s) within MinYear..MaxYear.
func parseYears(f string) (map[int]bool, error) {
	if f == "*" {
		return nil, nil
	}
	years := map[int]bool{}
	for _, item := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		lo, hi := MinYear, MaxYear
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = year(a); err != nil {
				return nil, err
			}
			hi = lo
			if isRange {
				if hi, err = year(b); err != nil {
					return nil, err
				}
			} else if hasStep {
				hi = MaxYear
			}
			if hi < lo {
				return nil, fmt.Errorf("range %q ends before it starts", rng)
			}
		}
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("step %q must be a positive number", stepText)
			}
			step = n
		}
		for y := lo; y <= hi; y += step {
			years[y] = true
		}
	}
	return years, nil
}

func year(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || !isDigits(s) || n < MinYear || n > MaxYear {
		return 0, fmt.Errorf("year %q must be a number from %d to %d", s, MinYear, MaxYear)
	}
	return n, nil
}
