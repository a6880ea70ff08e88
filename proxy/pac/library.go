package pac

import (
	"context"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja/parser"
	"golang.org/x/net/idna"
)

// Script names as Chromium gives them to V8; errors are attributed to the
// first frame of scriptName.
const (
	scriptName  = "proxy-pac-script.js"
	libraryName = "proxy-pac-utility-script.js"
)

// librarySource is the JS half of the PAC library: the Mozilla helpers with
// Chromium's semantics (same argument coercions, same quirks), written for
// this package. Helpers that call each other go through the global object,
// as in Chromium, so a script that redefines dnsResolve changes isInNet too.
//
// The last statement evaluates to an installer taking the native clock; it
// defines shExpMatch (with its private cache) and the time functions over
// private copies of RegExp, Date and parseInt, and returns the hidden entry
// points the Go side calls. The time functions work
// on "wall clock as UTC" milliseconds: the clock returns local and UTC wall
// clocks that way, so every date is built and read with the UTC methods and
// the machine's zone never matters.
const librarySource = `
function dnsDomainIs(host, domain) {
	var start = host.length - domain.length;
	return start >= 0 && host.substring(start) == domain;
}

function dnsDomainLevels(host) {
	return host.split('.').length - 1;
}

function isValidIpAddress(ipchars) {
	var m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ipchars);
	if (m === null) {
		return false;
	}
	for (var i = 1; i <= 4; i++) {
		if (m[i] > 255) {
			return false;
		}
	}
	return true;
}

function convert_addr(ipchars) {
	var b = ipchars.split('.');
	return (b[0] & 0xff) << 24 | (b[1] & 0xff) << 16 | (b[2] & 0xff) << 8 | b[3] & 0xff;
}

function isInNet(ipaddr, pattern, maskstr) {
	if (!isValidIpAddress(pattern) || !isValidIpAddress(maskstr)) {
		return false;
	}
	if (!isValidIpAddress(ipaddr)) {
		ipaddr = dnsResolve(ipaddr);
		if (ipaddr == null) {
			return false;
		}
	}
	var mask = convert_addr(maskstr);
	return (convert_addr(ipaddr) & mask) == (convert_addr(pattern) & mask);
}

function isResolvable(host) {
	return dnsResolve(host) != null;
}

function isResolvableEx(host) {
	return dnsResolveEx(host) != '';
}

function localHostOrDomainIs(host, hostdom) {
	return host == hostdom || hostdom.lastIndexOf(host + '.', 0) == 0;
}

var shExpMatch, weekdayRange, dateRange, timeRange;

(function (clock) {
	var global = this, D = Date, UTC = Date.UTC, toInt = parseInt,
		toStr = String, apply = Reflect.apply, RE = RegExp;
	var DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
	var MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

	function indexOfName(names, v) {
		var s = toStr(v);
		for (var i = 0; i < names.length; i++) {
			if (names[i] === s) {
				return i;
			}
		}
		return -1;
	}

	// trailingGMT reads the optional last "GMT" of the range functions:
	// how many other arguments there are, and whether it was given.
	function trailingGMT(args) {
		var gmt = args[args.length - 1] == 'GMT';
		return {argc: gmt ? args.length - 1 : args.length, gmt: gmt};
	}

	function inRange(start, end, t) {
		return start <= end ? start <= t && t <= end : t <= end || t >= start;
	}

	weekdayRange = function weekdayRange() {
		if (arguments.length < 1) {
			return false;
		}
		var g = trailingGMT(arguments), argc = g.argc, gmt = g.gmt;
		var now = clock();
		var today = new D(now[gmt ? 1 : 0]).getUTCDay();
		var first = indexOfName(DAYS, arguments[0]);
		var last = argc == 2 ? indexOfName(DAYS, arguments[1]) : first;
		if (first < 0 || last < 0) {
			return false;
		}
		return inRange(first, last, today);
	};

	dateRange = function dateRange() {
		if (arguments.length < 1) {
			return false;
		}
		var g = trailingGMT(arguments), argc = g.argc, gmt = g.gmt;
		var now = clock();
		var local = new D(now[0]), cur = new D(now[gmt ? 1 : 0]);
		var n;
		if (argc == 1) {
			n = toInt(arguments[0]);
			if (n !== n) {
				return cur.getUTCMonth() == indexOfName(MONTHS, arguments[0]);
			}
			return n < 32 ? cur.getUTCDate() == n : cur.getUTCFullYear() == n;
		}
		// The start defaults to the first second of the local year, the end
		// to its last; the first half of the arguments edits the start, the
		// second half the end, in order, so days overflow as in JS setters.
		var year = local.getUTCFullYear();
		var start = new D(UTC(year, 0, 1, 0, 0, 0)), end = new D(UTC(year, 11, 31, 23, 59, 59));
		var half = argc >> 1, daysOnly = false;
		for (var i = 0; i < argc; i++) {
			var d = i < half ? start : end;
			n = toInt(arguments[i]);
			if (n !== n) {
				d.setUTCMonth(indexOfName(MONTHS, arguments[i]));
			} else if (n < 32) {
				if (i < half) {
					daysOnly = argc <= 2;
				}
				d.setUTCDate(n);
			} else {
				d.setUTCFullYear(n);
			}
		}
		if (daysOnly) {
			start.setUTCMonth(local.getUTCMonth());
			end.setUTCMonth(local.getUTCMonth());
		}
		return inRange(start.getTime(), end.getTime(), cur.getTime());
	};

	timeRange = function timeRange() {
		if (arguments.length < 1) {
			return false;
		}
		var g = trailingGMT(arguments), argc = g.argc, gmt = g.gmt;
		var now = clock();
		var t = now[gmt ? 1 : 0];
		var hour = new D(t).getUTCHours();
		if (argc == 1) {
			return hour == arguments[0];
		}
		if (argc == 2) {
			return arguments[0] <= hour && hour <= arguments[1];
		}
		if (argc != 4 && argc != 6) {
			throw 'timeRange: bad number of arguments';
		}
		// Start and end are today at the given times, keeping the current
		// seconds unless given; the 4-argument end includes its whole minute.
		var start = new D(t), end = new D(t), mid = argc >> 1;
		if (argc == 6) {
			start.setUTCSeconds(arguments[2]);
			end.setUTCSeconds(arguments[5]);
		}
		start.setUTCHours(arguments[0]);
		start.setUTCMinutes(arguments[1]);
		end.setUTCHours(arguments[mid]);
		end.setUTCMinutes(arguments[mid + 1]);
		if (argc == 4) {
			end.setUTCSeconds(59);
		}
		return inRange(start.getTime(), end.getTime(), t);
	};

	// shExpMatch turns the glob into a regular expression: "." is escaped,
	// "*" and "?" become ".*" and ".", every other character stays regex
	// syntax. Compiling is most of the cost of a call, and PAC files use a
	// fixed set of patterns, so each runtime keeps the compiled expressions
	// of string patterns (non-global RegExps carry no state between tests).
	var globCache = new Map(), globCacheMax = 512;
	function globToRegExp(pattern) {
		var re = pattern.replace(/[.*?]/g, function (c) {
			return c == '.' ? '\\.' : c == '*' ? '.*' : '.';
		});
		return new RE('^' + re + '$');
	}
	shExpMatch = function shExpMatch(url, pattern) {
		if (typeof pattern !== 'string') {
			return globToRegExp(pattern).test(url);
		}
		var re = globCache.get(pattern);
		if (re === undefined) {
			re = globToRegExp(pattern);
			if (globCache.size >= globCacheMax) {
				globCache.clear();
			}
			globCache.set(pattern, re);
		}
		return re.test(url);
	};

	var notFunction = {};
	return {
		notFunction: notFunction,
		// defined is Chromium's check after the script's first run.
		defined: function () {
			return typeof global.FindProxyForURL === 'function';
		},
		// invoke calls the current global FindProxyForURL, as V8 is asked to
		// with the global object as receiver.
		invoke: function (url, host) {
			var f = global.FindProxyForURL;
			if (typeof f !== 'function') {
				return notFunction;
			}
			return apply(f, global, [url, host]);
		},
		// describe renders an uncaught value as V8's message does.
		describe: function (e) {
			try {
				return 'Uncaught ' + toStr(e);
			} catch (x) {
				return 'Uncaught exception';
			}
		}
	};
})
`

// libraryProgram compiles librarySource once per process; every runtime of
// every Script runs the same Program.
var libraryProgram = sync.OnceValue(func() *goja.Program {
	ast, err := parser.ParseFile(nil, libraryName, librarySource, 0, parser.WithDisableSourceMaps)
	if err != nil {
		panic("pac: library does not parse: " + err.Error())
	}
	p, err := goja.CompileAST(ast, false)
	if err != nil {
		panic("pac: library does not compile: " + err.Error())
	}
	return p
})

// idnaProfile converts non-ASCII host names like Chromium's url::IDNToASCII:
// UTS #46 non-transitional processing with the Bidi rule and without the
// STD3 restrictions.
var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.Transitional(false), idna.StrictDomainName(false))

// installNatives defines the library functions Chromium implements in C++.
func (e *engine) installNatives() error {
	natives := []struct {
		name string
		fn   func(goja.FunctionCall) goja.Value
	}{
		{"alert", e.alert},
		{"isPlainHostName", e.isPlainHostName},
		{"dnsResolve", e.dnsResolve},
		{"dnsResolveEx", e.dnsResolveEx},
		{"myIpAddress", e.myIPAddress},
		{"myIpAddressEx", e.myIPAddressEx},
		{"sortIpAddressList", e.sortIPAddressList},
		{"isInNetEx", e.isInNetEx},
	}
	for _, n := range natives {
		if err := e.rt.Set(n.name, n.fn); err != nil {
			return err
		}
	}
	return nil
}

// alert buffers its argument's string form as an event; with no argument it
// says "undefined", like Firefox. A throwing toString propagates.
func (e *engine) alert(fc goja.FunctionCall) goja.Value {
	msg := "undefined"
	if len(fc.Arguments) > 0 {
		msg = fc.Arguments[0].String()
	}
	e.cur.addEvent(Event{Kind: EventAlert, Message: msg})
	return goja.Undefined()
}

func (e *engine) isPlainHostName(fc goja.FunctionCall) goja.Value {
	s, ok := stringArg(fc, 0)
	if !ok {
		panic(e.rt.NewTypeError("Requires 1 string parameter"))
	}
	return e.rt.ToValue(isPlainHostName(s))
}

// dnsResolve returns the first IPv4 address; a bad argument or a failure is
// null.
func (e *engine) dnsResolve(fc goja.FunctionCall) goja.Value {
	host, ok := hostnameArg(fc)
	if !ok {
		return goja.Null()
	}
	if s, ok := e.resolve(opDNSResolve, host); ok {
		return e.rt.ToValue(s)
	}
	return goja.Null()
}

// dnsResolveEx returns every address joined by ";"; a failure is "", a bad
// argument undefined (as in Chromium, which then returns nothing).
func (e *engine) dnsResolveEx(fc goja.FunctionCall) goja.Value {
	host, ok := hostnameArg(fc)
	if !ok {
		return goja.Undefined()
	}
	s, _ := e.resolve(opDNSResolveEx, host)
	return e.rt.ToValue(s)
}

// myIpAddress returns one address, IPv4 favoured; a failure is "127.0.0.1".
func (e *engine) myIPAddress(goja.FunctionCall) goja.Value {
	if s, ok := e.resolve(opMyIPAddress, ""); ok {
		return e.rt.ToValue(s)
	}
	return e.rt.ToValue("127.0.0.1")
}

// myIpAddressEx returns the addresses joined by ";"; a failure is "".
func (e *engine) myIPAddressEx(goja.FunctionCall) goja.Value {
	s, _ := e.resolve(opMyIPAddressEx, "")
	return e.rt.ToValue(s)
}

// resolve answers a DNS helper. When the run's deadline or cancellation cut
// the lookup short it interrupts the runtime at once: the script must not go
// on with a failure that was only the clock, and the interrupt that
// context.AfterFunc delivers could otherwise lose the race with the script's
// return.
func (e *engine) resolve(op dnsOp, host string) (string, bool) {
	s, ok := e.cur.resolve(op, host)
	if ctx := e.cur.ctx; ctx.Err() != nil {
		e.rt.Interrupt(context.Cause(ctx))
	}
	return s, ok
}

// sortIpAddressList: a non-string or non-ASCII argument is null, a list
// that does not parse is false.
func (e *engine) sortIPAddressList(fc goja.FunctionCall) goja.Value {
	list, ok := stringArg(fc, 0)
	if !ok || !isASCII(list) {
		return goja.Null()
	}
	sorted, ok := sortIPAddressList(list)
	if !ok {
		return e.rt.ToValue(false)
	}
	return e.rt.ToValue(sorted)
}

// isInNetEx: fewer than two string arguments is null, non-ASCII ones false.
func (e *engine) isInNetEx(fc goja.FunctionCall) goja.Value {
	ip, ok1 := stringArg(fc, 0)
	prefix, ok2 := stringArg(fc, 1)
	if !ok1 || !ok2 {
		return goja.Null()
	}
	if !isASCII(ip) || !isASCII(prefix) {
		return e.rt.ToValue(false)
	}
	return e.rt.ToValue(isInNetEx(ip, prefix))
}

// clock returns [local, UTC] wall clocks of Options.Now as milliseconds of a
// UTC date, for the library's time functions. Both come from one reading.
func (e *engine) clock(goja.FunctionCall) goja.Value {
	t := e.script.opts.Now()
	_, offset := t.Zone()
	utc := t.UnixMilli()
	return e.rt.NewArray(utc+int64(offset)*1000, utc)
}

// stringArg returns argument i if it is a primitive string (V8's IsString:
// String objects do not count).
func stringArg(fc goja.FunctionCall, i int) (string, bool) {
	v := fc.Argument(i)
	if !goja.IsString(v) {
		return "", false
	}
	return v.String(), true
}

// hostnameArg is Chromium's GetHostnameArgument: a string, converted from
// IDN to punycode when not ASCII.
func hostnameArg(fc goja.FunctionCall) (string, bool) {
	host, ok := stringArg(fc, 0)
	if !ok {
		return "", false
	}
	if isASCII(host) {
		return host, true
	}
	a, err := idnaProfile.ToASCII(host)
	if err != nil || !isASCII(a) {
		return "", false
	}
	return a, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
