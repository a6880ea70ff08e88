package pac

import (
	"testing"
	"time"
)

// zoneX is the "local" zone of these tests: UTC+5, so that local and GMT
// answers differ.
var zoneX = time.FixedZone("X", 5*3600)

// atX returns Options whose clock stands still at the given local time.
func atX(year int, month time.Month, day, hour, min, sec, msec int) Options {
	t := time.Date(year, month, day, hour, min, sec, msec*int(time.Millisecond), zoneX)
	return Options{Now: func() time.Time { return t }}
}

// Friday 2024-03-15 14:30:45.500 local, 09:30:45.500 UTC: same day in both.
var friday = atX(2024, time.March, 15, 14, 30, 45, 500)

// Saturday 2024-03-16 02:00:00 local is Friday 2024-03-15 21:00:00 UTC.
var saturdayLocalFridayGMT = atX(2024, time.March, 16, 2, 0, 0, 0)

func TestWeekdayRange(t *testing.T) {
	evalCases(t, friday, map[string]string{
		`weekdayRange()`:             "false",
		`weekdayRange("FRI")`:        "true",
		`weekdayRange("THU")`:        "false",
		`weekdayRange("fri")`:        "false", // upper case only
		`weekdayRange("XYZ")`:        "false",
		`weekdayRange(5)`:            "false",
		`weekdayRange("MON", "FRI")`: "true",
		`weekdayRange("FRI", "FRI")`: "true",
		`weekdayRange("MON", "THU")`: "false",
		`weekdayRange("SAT", "SUN")`: "false",
		`weekdayRange("MON", "XYZ")`: "false",
		`weekdayRange("XYZ", "FRI")`: "false",
		// Wrap-around ranges.
		`weekdayRange("THU", "MON")`: "true",
		`weekdayRange("FRI", "MON")`: "true",
		`weekdayRange("SAT", "THU")`: "false",
		`weekdayRange("SAT", "FRI")`: "true",
		// A third, non-"GMT" argument makes the range a single day (the
		// first), as in Mozilla's code.
		`weekdayRange("FRI", "MON", "XYZ")`: "true",
		`weekdayRange("MON", "FRI", "XYZ")`: "false",
		`weekdayRange("GMT")`:               "false",
		`weekdayRange("FRI", "GMT")`:        "true",
		`weekdayRange("MON", "FRI", "GMT")`: "true",
	})
	evalCases(t, saturdayLocalFridayGMT, map[string]string{
		`weekdayRange("SAT")`:               "true",
		`weekdayRange("SAT", "GMT")`:        "false",
		`weekdayRange("FRI", "GMT")`:        "true",
		`weekdayRange("MON", "FRI")`:        "false",
		`weekdayRange("MON", "FRI", "GMT")`: "true",
		`weekdayRange("SAT", "SUN", "GMT")`: "false",
	})
}

func TestDateRange(t *testing.T) {
	evalCases(t, friday, map[string]string{
		`dateRange()`: "false",
		// One argument: day, month or year.
		`dateRange(15)`:        "true",
		`dateRange("15")`:      "true",
		`dateRange(14)`:        "false",
		`dateRange("MAR")`:     "true",
		`dateRange("APR")`:     "false",
		`dateRange("mar")`:     "false",
		`dateRange(2024)`:      "true",
		`dateRange(2023)`:      "false",
		`dateRange("XYZ")`:     "false",
		`dateRange("GMT")`:     "true", // no bound left: the whole year
		`dateRange(15, "GMT")`: "true",
		// Two days: the current month is used.
		`dateRange(1, 20)`:  "true",
		`dateRange(15, 15)`: "true",
		`dateRange(16, 31)`: "false",
		`dateRange(20, 16)`: "true", // wraps around: 20th .. 16th
		`dateRange(20, 10)`: "false",
		// Two months, two years.
		`dateRange("JAN", "MAR")`: "true",
		`dateRange("MAR", "MAR")`: "true",
		`dateRange("APR", "DEC")`: "false",
		`dateRange("NOV", "MAR")`: "true", // wraps around
		`dateRange("NOV", "JAN")`: "false",
		`dateRange(2020, 2025)`:   "true",
		`dateRange(2025, 2030)`:   "false",
		`dateRange(2024, 2024)`:   "true",
		// Day and month pairs, and day month year triples.
		`dateRange(1, "MAR", 31, "MAR")`:              "true",
		`dateRange(15, "MAR", 15, "MAR")`:             "true",
		`dateRange(16, "MAR", 31, "DEC")`:             "false",
		`dateRange(1, "MAR", 14, "MAR")`:              "false",
		`dateRange(1, "DEC", 31, "MAR")`:              "true", // wraps around the year
		`dateRange("MAR", 2024, "APR", 2024)`:         "true",
		`dateRange("MAR", 2025, "APR", 2025)`:         "false",
		`dateRange(1, "JAN", 2024, 31, "DEC", 2024)`:  "true",
		`dateRange(15, "MAR", 2024, 15, "MAR", 2024)`: "true",
		`dateRange(16, "MAR", 2024, 31, "DEC", 2024)`: "false",
		`dateRange(1, "JAN", 2025, 31, "DEC", 2025)`:  "false",
		`dateRange(1, "JAN", 2020, 1, "JAN", 2030)`:   "true",
		// Odd counts: the first half (rounded down) is the start.
		`dateRange(1, "MAR", 20)`:    "true",
		`dateRange("MAR", 1, 14)`:    "true", // MAR 1st .. DEC 14th
		`dateRange("APR", 1, 14)`:    "false",
		`dateRange(1, "MAR", "GMT")`: "true",
	})
	evalCases(t, saturdayLocalFridayGMT, map[string]string{
		`dateRange(16)`:        "true",
		`dateRange(16, "GMT")`: "false",
		`dateRange(15, "GMT")`: "true",
		`dateRange(15, 15)`:    "false",
		// With "GMT" the UTC wall clock is compared with bounds in the
		// current (local) month and year.
		`dateRange(15, 15, "GMT")`:               "true",
		`dateRange(15, "MAR", 15, "MAR", "GMT")`: "true",
		`dateRange(16, "MAR", 31, "MAR", "GMT")`: "false",
	})
	// Mozilla's algorithm sets the end month on December 31st, so "FEB"
	// ends on "February 31st", i.e. March 2nd in a leap year.
	evalCases(t, atX(2024, time.March, 2, 12, 0, 0, 0), map[string]string{
		`dateRange("JAN", "FEB")`: "true",
	})
	evalCases(t, atX(2024, time.March, 3, 12, 0, 0, 0), map[string]string{
		`dateRange("JAN", "FEB")`: "false",
	})
	// Year boundary: December 31st 23:59:59.500 is after the default end.
	evalCases(t, atX(2024, time.December, 31, 23, 59, 59, 500), map[string]string{
		`dateRange("DEC", "DEC")`: "false",
		`dateRange("DEC")`:        "true",
		`dateRange(31)`:           "true",
	})
}

func TestTimeRange(t *testing.T) {
	evalCases(t, friday, map[string]string{
		`timeRange()`:     "false",
		`timeRange(14)`:   "true",
		`timeRange("14")`: "true",
		`timeRange(13)`:   "false",
		// Two hours: inclusive, and no wrap-around in this form.
		`timeRange(9, 17)`:  "true",
		`timeRange(14, 14)`: "true",
		`timeRange(15, 17)`: "false",
		`timeRange(17, 9)`:  "false",
		`timeRange(20, 15)`: "false",
		// Hours and minutes: the end includes its whole minute.
		`timeRange(14, 30, 14, 30)`: "true",
		`timeRange(14, 0, 14, 29)`:  "false",
		`timeRange(14, 31, 15, 0)`:  "false",
		`timeRange(8, 30, 17, 30)`:  "true",
		`timeRange(22, 0, 15, 0)`:   "true", // wraps around midnight
		`timeRange(22, 0, 14, 0)`:   "false",
		`timeRange(0, 0, 23, 59)`:   "true",
		// Hours, minutes and seconds.
		`timeRange(14, 30, 45, 14, 30, 45)`: "true",
		`timeRange(14, 30, 46, 15, 0, 0)`:   "false",
		`timeRange(14, 0, 0, 14, 30, 44)`:   "false",
		`timeRange(20, 0, 0, 14, 30, 45)`:   "true", // wraps around
		`timeRange(20, 0, 0, 14, 30, 44)`:   "false",
		// GMT: 09:30:45 UTC.
		`timeRange(9, "GMT")`:                    "true",
		`timeRange(14, "GMT")`:                   "false",
		`timeRange(9, 10, "GMT")`:                "true",
		`timeRange(9, 30, 9, 30, "GMT")`:         "true",
		`timeRange(9, 31, 10, 0, "GMT")`:         "false",
		`timeRange(9, 30, 45, 9, 30, 45, "GMT")`: "true",
		`timeRange(14, 30, 0, 14, 31, 0, "GMT")`: "false",
	})
	evalCases(t, saturdayLocalFridayGMT, map[string]string{
		`timeRange(2)`:                   "true",
		`timeRange(21, "GMT")`:           "true",
		`timeRange(20, 0, 22, 0, "GMT")`: "true",
		`timeRange(1, 0, 3, 0)`:          "true",
		`timeRange(1, 0, 3, 0, "GMT")`:   "false",
	})
	evalThrows(t, friday, map[string]string{
		`timeRange(1, 2, 3)`:             "timeRange: bad number of arguments",
		`timeRange(1, 2, 3, 4, 5)`:       "timeRange: bad number of arguments",
		`timeRange(1, 2, 3, 4, 5, 6, 7)`: "timeRange: bad number of arguments",
		`timeRange("GMT")`:               "timeRange: bad number of arguments",
		`timeRange(1, 2, 3, "GMT")`:      "timeRange: bad number of arguments",
	})
}

// The script's own Date follows Options.Now too.
func TestScriptDateUsesClock(t *testing.T) {
	evalCases(t, friday, map[string]string{
		`Date.now()`:                  "1710495045500",
		`new Date().getUTCHours()`:    "9",
		`new Date().getUTCFullYear()`: "2024",
	})
}
