/*
 * formula.js: the browser's evaluator of the formula language (docs/expressions.md,
 * "In the browser"). It walks the checked tree of CompiledExpression.to_json() with the
 * server's semantics (engine/expressions), on decimal.js (vendored, loaded before this
 * file). It never turns text into code, so it runs under `script-src 'self'`.
 *
 *   LowcodeFormula.evaluate(doc, values, context) -> canonical value (throws FormulaError)
 *   LowcodeFormula.tryEvaluate(doc, values, context) -> {ok: true, value} | {ok: false, error}
 *
 * Canonical form (inputs and results): null, true/false, text as a JSON string, numbers
 * {"$number": str(Decimal)} (Python's spelling: "4.50", "1E+3", "-0"), dates
 * {"$date": "YYYY-MM-DD"}, date-times {"$datetime": isoformat with offset}, lists as
 * arrays, sub-table rows as plain objects. LOOKUP without a value in context.lookups
 * gives {"$unknown": "LOOKUP"} for the whole formula (the server's value stands).
 */
(function (global) {
  'use strict';

  var Decimal = global.Decimal;
  if (!Decimal) throw new Error('formula.js needs decimal.js loaded first');

  var PREC = 28;
  var EMAX = 999;
  var MAX_TEXT = 100000;
  var MAX_POWER = 1000;
  var MAX_LITERAL_DIGITS = 30;
  var MAX_ROUND_DIGITS = 20;
  // C: the server's context (28 digits, half up); X: exact arithmetic (+ - * are exact
  // up to this many digits, and every operand has at most a few thousand).
  var C = Decimal.clone({precision: PREC, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -9e15, toExpPos: 9e15});
  var X = Decimal.clone({precision: 1e9, rounding: Decimal.ROUND_HALF_UP, toExpNeg: -9e15, toExpPos: 9e15});

  var DIV_HINT = 'guard the divisor, e.g. IF(qty == 0, None, amount / qty)';

  function FormulaError(message, hint, column) {
    this.name = 'FormulaError';
    this.message = message;
    this.hint = hint === undefined ? null : hint;
    this.column = column === undefined ? null : column;
  }
  FormulaError.prototype = Object.create(Error.prototype);
  FormulaError.prototype.constructor = FormulaError;

  function fail(message, hint) { throw new FormulaError(message, hint); }
  function Unknown(what) { this.what = what; }

  function tooLarge() { fail('the number is too large', 'numbers stay below 10**999'); }
  function undefinedResult() {
    fail('the calculation has no defined result',
      'for example a negative number raised to a fractional power');
  }
  function outOfRange() { fail('a date or number is out of range'); }

  // ---- numbers: an exact decimal.js value plus Python's exponent --------------------
  function Num(v, e) { this.v = v; this.e = e; }

  function lsd(v) { return v.e - v.sd() + 1; }

  // round to the context like Python's _fix: at most 28 coefficient digits, bounded size
  var ETINY = -EMAX - PREC + 1;  // the smallest exponent (subnormal numbers)
  function fin(v, e) {
    if (!v.isZero()) {
      if (v.e - e + 1 > PREC) {
        v = new X(v).toSignificantDigits(PREC, Decimal.ROUND_HALF_UP);
        e = v.e - (PREC - 1);
      }
      if (v.e > EMAX) tooLarge();
    }
    return tiny(v, e);
  }
  function tiny(v, e) {
    // below 10**-999 numbers lose digits down to the exponent -1026, then become 0E-1026;
    // a zero keeps its exponent within -1026..999
    if (e < ETINY) {
      v = new X(v).toDecimalPlaces(-ETINY, Decimal.ROUND_HALF_UP);
      e = ETINY;
    }
    if (v.isZero() && e > EMAX) e = EMAX;
    return new Num(v, e);
  }

  var NUMBER_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

  function parseNumber(text) {
    var m = NUMBER_TEXT.exec(text);
    if (!m || (m[2] + (m[3] || '')).length === 0) return null;
    var exp = m[4] ? parseInt(m[4], 10) : 0;
    return new Num(new X(text), exp - (m[3] || '').length);
  }

  function intNum(n) { return new Num(new X(n), 0); }

  function coefficient(n) {
    var e = n.e;
    var digits = n.v.abs().toFixed(Math.max(0, -e)).replace('.', '');
    if (e > 0) digits = digits.slice(0, digits.length - e);
    digits = digits.replace(/^0+/, '');
    return digits === '' ? '0' : digits;
  }

  function isNeg(n) { return n.v.isNegative(); }

  // Python's str(Decimal)
  function numberText(n) {
    var coef = coefficient(n);
    var exp = n.e;
    var left = exp + coef.length;
    var dot = exp <= 0 && left > -6 ? left : 1;
    var intPart, frac;
    if (dot <= 0) { intPart = '0'; frac = '.' + '0'.repeat(-dot) + coef; }
    else if (dot >= coef.length) { intPart = coef + '0'.repeat(dot - coef.length); frac = ''; }
    else { intPart = coef.slice(0, dot); frac = '.' + coef.slice(dot); }
    var expText = left === dot ? '' : 'E' + (left - dot >= 0 ? '+' : '') + (left - dot);
    return (isNeg(n) ? '-' : '') + intPart + frac + expText;
  }

  // Python's format(Decimal, "f"): plain digits (TEXT, CONCAT)
  function plainText(n) {
    var coef = coefficient(n);
    var exp = n.e;
    if (n.v.isZero() && exp > 0) { coef = '0'; exp = 0; }
    var dot = exp + coef.length;
    var intPart, frac;
    if (dot <= 0) { intPart = '0'; frac = '.' + '0'.repeat(-dot) + coef; }
    else if (dot >= coef.length) { intPart = coef + '0'.repeat(dot - coef.length); frac = ''; }
    else { intPart = coef.slice(0, dot); frac = '.' + coef.slice(dot); }
    return (isNeg(n) ? '-' : '') + intPart + frac;
  }

  function add(a, b) {
    var x = X.add(a.v, b.v);
    var ideal = Math.min(a.e, b.e);
    return x.isZero() ? tiny(x, ideal) : fin(x, ideal);
  }
  function sub(a, b) {
    var x = X.sub(a.v, b.v);
    var ideal = Math.min(a.e, b.e);
    return x.isZero() ? tiny(x, ideal) : fin(x, ideal);
  }
  function mul(a, b) {
    var x = X.mul(a.v, b.v);
    return x.isZero() ? tiny(x, a.e + b.e) : fin(x, a.e + b.e);
  }
  function zeroDivision(a) {
    // 0 / 0 is InvalidOperation for Python's decimal module, not a division by zero
    if (a.v.isZero()) undefinedResult();
    fail('division by zero', DIV_HINT);
  }
  function div(a, b) {
    if (b.v.isZero()) zeroDivision(a);
    var ideal = a.e - b.e;
    if (a.v.isZero()) return tiny(X.mul(a.v, b.v.isNeg() ? -1 : 1), ideal);
    var v = C.div(a.v, b.v);
    var exact = X.mul(v, b.v).eq(a.v);
    var e = exact ? Math.max(Math.min(ideal, lsd(v)), v.e - (PREC - 1)) : v.e - (PREC - 1);
    if (v.e > EMAX) tooLarge();
    return tiny(v, e);
  }
  function divideInt(a, b) {
    if (b.v.isZero()) zeroDivision(a);
    var q = new X(a.v).divToInt(b.v);  // integer digits only, truncated
    if (!q.isZero() && q.e >= PREC) undefinedResult();
    if (q.isZero()) q = new X(a.v.isNeg() !== b.v.isNeg() ? '-0' : '0');
    return new Num(q, 0);
  }
  function floorDivide(a, b) {
    var q = divideInt(a, b);
    var aNeg = a.v.lt(0), bNeg = b.v.lt(0);
    if (aNeg !== bNeg && !mul(q, b).v.eq(a.v)) q = sub(q, intNum(1));
    return q;
  }
  function remainder(a, b) { return sub(a, mul(b, floorDivide(a, b))); }

  function exactPower(a, n) {
    // the exact value of a ** n (n >= 0), or null when it has too many digits to matter
    if (a.v.sd() * n <= 400) return X.pow(a.v, n);
    if (coefficient(a) === '1') return X.pow(a.v, n);
    return null;
  }
  function power(a, b) {
    if (b.v.abs().gt(MAX_POWER)) {
      fail('the exponent ' + numberText(b) + ' is too large (at most ' + MAX_POWER + ')',
        'powers are for rates and units, not for building huge numbers');
    }
    var integral = b.v.isInteger();
    if (a.v.isZero()) {
      if (b.v.isZero()) undefinedResult();
      if (b.v.isNeg()) {
        fail(numberText(a) + ' to the power ' + numberText(b) + ' has no value (division by zero)',
          'guard the base with IF(base == 0, ..., ...)');
      }
      var negZero = integral && a.v.isNeg() && !b.v.div(2).isInteger();
      return new Num(new X(negZero ? '-0' : '0'), 0);
    }
    if (!integral) {
      if (a.v.isNeg()) undefinedResult();
      var r = C.pow(a.v, b.v);
      if (r.e > EMAX) tooLarge();
      return tiny(r, r.e - (PREC - 1));
    }
    var n = b.v.toNumber();
    if (n === 0) return intNum(1);
    var exact = exactPower(a, Math.abs(n));
    if (n > 0) {
      if (exact === null) {
        var p = C.pow(a.v, b.v);
        if (p.e > EMAX) tooLarge();
        return tiny(p, p.e - (PREC - 1));
      }
      return exact.isZero() ? tiny(exact, a.e * n) : fin(exact, a.e * n);
    }
    var v = C.pow(a.v, b.v);
    if (v.e > EMAX) tooLarge();
    if (exact !== null && X.mul(v, exact).eq(1)) return tiny(v, lsd(v));
    return tiny(v, v.e - (PREC - 1));
  }
  function negate(a) {
    return fin(a.v.isZero() ? a.v.abs() : a.v.neg(), a.e);
  }
  function plus(a) {
    return fin(a.v.isZero() ? a.v.abs() : a.v, a.e);
  }

  // ---- dates: days since 1970-01-01; date-times: wall-clock microseconds (BigInt) ----
  var MIN_DAY = -719162;   // 0001-01-01
  var MAX_DAY = 2932896;   // 9999-12-31
  var US_PER_DAY = 86400000000n;

  function DateV(days) {
    if (days < MIN_DAY || days > MAX_DAY || !Number.isFinite(days)) outOfRange();
    this.days = days;
  }
  function DateTimeV(us, zone) {
    var day = Number(floorDiv(us, US_PER_DAY));
    if (day < MIN_DAY || day > MAX_DAY) outOfRange();
    this.us = us;
    this.zone = zone;
  }
  function floorDiv(a, b) {
    var q = a / b;
    if ((a % b !== 0n) && ((a < 0n) !== (b < 0n))) q -= 1n;
    return q;
  }
  function daysFromCivil(y, m, d) {
    var t = new Date(0);
    t.setUTCFullYear(y, m - 1, d);
    t.setUTCHours(0, 0, 0, 0);
    return Math.round(t.getTime() / 86400000);
  }
  function civil(days) {
    var t = new Date(days * 86400000);
    return {y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate()};
  }
  function pad(n, width) {
    var s = String(Math.abs(n));
    while (s.length < width) s = '0' + s;
    return s;
  }
  function isoDate(days) {
    var c = civil(days);
    return pad(c.y, 4) + '-' + pad(c.m, 2) + '-' + pad(c.d, 2);
  }
  function dtParts(dt) {
    var day = Number(floorDiv(dt.us, US_PER_DAY));
    var rest = dt.us - BigInt(day) * US_PER_DAY;
    var seconds = Number(rest / 1000000n);
    return {
      day: day, micro: Number(rest % 1000000n),
      h: Math.floor(seconds / 3600), mi: Math.floor(seconds / 60) % 60, s: seconds % 60
    };
  }
  function dateOf(value) {
    return value instanceof DateTimeV ? Number(floorDiv(value.us, US_PER_DAY)) : value.days;
  }

  var formatters = {};
  function zoneOffsetAt(utcMs, zone) {
    // seconds east of UTC of `zone` at the instant utcMs (Intl knows the tz database)
    var f = formatters[zone];
    if (!f) {
      f = formatters[zone] = new Intl.DateTimeFormat('en-US', {
        timeZone: zone, hourCycle: 'h23', era: 'short', year: 'numeric', month: 'numeric',
        day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric'
      });
    }
    var parts = {};
    f.formatToParts(new Date(utcMs)).forEach(function (p) { parts[p.type] = p.value; });
    var year = parseInt(parts.year, 10);
    if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
    var wall = daysFromCivil(year, parseInt(parts.month, 10), parseInt(parts.day, 10)) * 86400 +
      parseInt(parts.hour, 10) * 3600 + parseInt(parts.minute, 10) * 60 + parseInt(parts.second, 10);
    return wall - Math.floor(utcMs / 1000);
  }
  function offsetOfWall(dt) {
    // Python's utcoffset() of a wall time (fold=0): try the offset in force just before
    var wallMs = Number(floorDiv(dt.us, 1000n));
    var first = zoneOffsetAt(wallMs - 86400000, dt.zone);
    var guess = zoneOffsetAt(wallMs - first * 1000, dt.zone);
    return zoneOffsetAt(wallMs - guess * 1000, dt.zone) === guess ? guess : first;
  }
  function wallFromUtcUs(utcUs, zone) {
    var ms = Number(floorDiv(utcUs, 1000n));
    return new DateTimeV(utcUs + BigInt(zoneOffsetAt(ms, zone)) * 1000000n, zone);
  }
  function offsetText(seconds) {
    var sign = seconds < 0 ? '-' : '+';
    var a = Math.abs(seconds);
    var text = sign + pad(Math.floor(a / 3600), 2) + ':' + pad(Math.floor(a / 60) % 60, 2);
    return a % 60 ? text + ':' + pad(a % 60, 2) : text;
  }
  function isoDateTime(dt) {
    var p = dtParts(dt);
    var text = isoDate(p.day) + 'T' + pad(p.h, 2) + ':' + pad(p.mi, 2) + ':' + pad(p.s, 2);
    if (p.micro) text += '.' + pad(p.micro, 6);
    return text + offsetText(offsetOfWall(dt));
  }

  var DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
  var DATETIME_TEXT = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,6}))?)?)?)?(Z|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?$/;

  function parseDate(text) {
    var m = DATE_TEXT.exec(text);
    if (!m) fail('not a date: ' + text);
    return new DateV(daysFromCivil(+m[1], +m[2], +m[3]));
  }
  function parseDateTime(text, zone) {
    var m = DATETIME_TEXT.exec(text);
    if (!m) fail('not a date-time: ' + text);
    var days = daysFromCivil(+m[1], +m[2], +m[3]);
    var micro = m[7] ? parseInt((m[7] + '00000').slice(0, 6), 10) : 0;
    var us = BigInt(days) * US_PER_DAY +
      BigInt(((+(m[4] || 0)) * 3600 + (+(m[5] || 0)) * 60 + (+(m[6] || 0)))) * 1000000n + BigInt(micro);
    if (!m[8]) return new DateTimeV(us, zone);
    var offset = 0;
    if (m[8] !== 'Z') {
      var digits = m[8].slice(1).replace(/:/g, '');
      offset = (+digits.slice(0, 2)) * 3600 + (+(digits.slice(2, 4) || 0)) * 60 + (+(digits.slice(4, 6) || 0));
      if (m[8][0] === '-') offset = -offset;
    }
    return wallFromUtcUs(us - BigInt(offset) * 1000000n, zone);
  }

  // ---- values --------------------------------------------------------------------
  function Row(fields) { this.fields = fields; }

  function kind(value) {
    if (value === null || value === undefined) return 'blank';
    if (value instanceof Num) return 'number';
    if (typeof value === 'string') return 'text';
    if (typeof value === 'boolean') return 'yes/no';
    if (value instanceof DateV) return 'date';
    if (value instanceof DateTimeV) return 'date-time';
    if (Array.isArray(value)) return 'list';
    if (value instanceof Row) return 'row';
    return typeof value;
  }

  // input (canonical JSON) -> a language value, like values.load
  function load(raw, zone) {
    if (raw === null || raw === undefined) return null;
    if (typeof raw === 'string' || typeof raw === 'boolean') return raw;
    if (typeof raw === 'number') {
      if (!Number.isFinite(raw)) fail('the value ' + String(raw) + ' is not a finite number');
      return Number.isInteger(raw) ? intNum(raw) : parseNumber(String(raw));
    }
    if (Array.isArray(raw)) return raw.map(function (item) { return load(item, zone); });
    if (typeof raw === 'object') {
      if ('$number' in raw) {
        var n = parseNumber(String(raw.$number));
        if (n === null) fail('the value ' + raw.$number + ' is not a finite number');
        return n;
      }
      if ('$date' in raw) return parseDate(raw.$date);
      if ('$datetime' in raw) return parseDateTime(raw.$datetime, zone);
      return new Row(raw);
    }
    fail('unsupported value ' + String(raw));
  }

  function encode(value) {
    if (value === null || value === undefined) return null;
    if (value instanceof Num) return {$number: numberText(value)};
    if (typeof value === 'string' || typeof value === 'boolean') return value;
    if (value instanceof DateV) return {$date: isoDate(value.days)};
    if (value instanceof DateTimeV) return {$datetime: isoDateTime(value)};
    if (Array.isArray(value)) return value.map(encode);
    if (value instanceof Row) {
      var out = {};
      Object.keys(value.fields).forEach(function (k) { out[k] = encode(load(value.fields[k], 'UTC')); });
      return out;
    }
    return value;
  }

  function truthy(value) {
    if (value === null || value === undefined) return false;
    if (value instanceof Num) return !value.v.isZero();
    if (typeof value === 'string' || Array.isArray(value)) return value.length > 0;
    if (typeof value === 'boolean') return value;
    if (value instanceof Row) return Object.keys(value.fields).length > 0;
    return true;
  }

  function isBlank(value) {
    return value === null || value === undefined || value === '' ||
      (Array.isArray(value) && value.length === 0);
  }

  function codePoints(text) { return Array.from(text); }
  function textLength(text) { return codePoints(text).length; }

  function checkedText(text) {
    if (text.length > MAX_TEXT && textLength(text) > MAX_TEXT) textTooLong();
    return text;
  }
  function textTooLong() {
    fail('the text result would be longer than 100,000 characters',
      'shorten the texts being joined or repeated');
  }

  function compareText(a, b) {
    // by code point, as Python does (JS compares UTF-16 units)
    var i = 0, j = 0;
    while (i < a.length && j < b.length) {
      var x = a.codePointAt(i), y = b.codePointAt(j);
      if (x !== y) return x < y ? -1 : 1;
      i += x > 0xffff ? 2 : 1;
      j += y > 0xffff ? 2 : 1;
    }
    if (i < a.length) return 1;
    return j < b.length ? -1 : 0;
  }

  function formatNumber(n) { return plainText(n); }

  function toText(value) {
    if (value === null || value === undefined) return '';
    if (typeof value === 'string') return value;
    if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
    if (value instanceof Num) return plainText(value);
    if (value instanceof DateTimeV) {
      var p = dtParts(value);
      var c = civil(p.day);
      // strftime("%Y-%m-%d %H:%M:%S"): the year is not padded
      return String(c.y) + '-' + pad(c.m, 2) + '-' + pad(c.d, 2) + ' ' + pad(p.h, 2) + ':' +
        pad(p.mi, 2) + ':' + pad(p.s, 2);
    }
    if (value instanceof DateV) return isoDate(value.days);
    if (Array.isArray(value)) return value.map(toText).join(', ');
    return pyRepr(value);
  }

  var NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;
  function reprText(text) {
    var quote = text.indexOf("'") >= 0 && text.indexOf('"') < 0 ? '"' : "'";
    var out = quote;
    codePoints(text).forEach(function (ch) {
      var cp = ch.codePointAt(0);
      if (ch === quote || ch === '\\') out += '\\' + ch;
      else if (ch === '\t') out += '\\t';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\r') out += '\\r';
      else if (ch !== ' ' && NOT_PRINTABLE.test(ch)) {
        if (cp < 0x100) out += '\\x' + cp.toString(16).padStart(2, '0');
        else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
        else out += '\\U' + cp.toString(16).padStart(8, '0');
      } else out += ch;
    });
    return out + quote;
  }
  function pyRepr(value) {
    if (value === null || value === undefined) return 'None';
    if (typeof value === 'boolean') return value ? 'True' : 'False';
    if (typeof value === 'string') return reprText(value);
    if (value instanceof Num) return "Decimal('" + numberText(value) + "')";
    if (value instanceof DateV) {
      var c = civil(value.days);
      return 'datetime.date(' + c.y + ', ' + c.m + ', ' + c.d + ')';
    }
    if (Array.isArray(value)) return '[' + value.map(pyRepr).join(', ') + ']';
    if (value instanceof Row) return '{' + Object.keys(value.fields).map(function (k) {
      return reprText(k) + ': ' + pyRepr(load(value.fields[k], 'UTC'));
    }).join(', ') + '}';
    return String(value);
  }

  // Python's str.strip() whitespace
  var PY_SPACE = '\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004' +
    '\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';
  function pyStrip(text, chars) {
    var set = chars || PY_SPACE;
    var start = 0, end = text.length;
    while (start < end && set.indexOf(text[start]) >= 0) start++;
    while (end > start && set.indexOf(text[end - 1]) >= 0) end--;
    return text.slice(start, end);
  }

  function wholeNumber(value, what) {
    if (!(value instanceof Num)) fail(what + ' must be a whole number, got ' + kind(value));
    if (!value.v.isInteger()) fail(what + ' must be a whole number, got ' + formatNumber(value));
    return value.v;
  }

  // ---- operators -----------------------------------------------------------------
  var VERBS = {
    '+': 'add', '-': 'subtract', '*': 'multiply', '/': 'divide', '//': 'divide',
    '%': 'take the remainder of', '**': 'raise to a power'
  };
  var HINTS = {
    '+ text': 'use CONCAT(a, b) to join text with numbers or dates',
    '% text': '% is the remainder of two numbers; build text with CONCAT and TEXT'
  };

  function addDays(value, n, sign) {
    var days = wholeNumber(n, 'the number of days added to a date');
    if (sign < 0) days = days.neg();
    if (days.abs().gt(999999999)) outOfRange();
    if (value instanceof DateV) return new DateV(value.days + days.toNumber());
    return new DateTimeV(value.us + BigInt(days.toFixed(0)) * US_PER_DAY, value.zone);
  }
  function addMomentDays(dt, n, sign) {
    if (sign < 0) n = new Num(n.v.neg(), n.e);
    // timedelta(seconds=float(n * 86400)), rounded to microseconds
    var seconds = mul(n, intNum(86400));
    var asFloat = Number(numberText(seconds));
    if (!Number.isFinite(asFloat) || Math.abs(asFloat) > 86400 * 1e9) outOfRange();
    var micro = new X(String(asFloat)).times(1000000).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN);
    return new DateTimeV(dt.us + BigInt(micro.toFixed(0)), dt.zone);
  }
  function exactFloat(x) {
    // Decimal(float): the exact value of a double, with Python's exponent
    if (Number.isInteger(x)) return new Num(new X(BigInt(x).toString()), 0);
    var k = 0, m = x;
    while (!Number.isInteger(m)) { m *= 2; k++; }
    var big = BigInt(m) * 5n ** BigInt(k);
    var neg = big < 0n;
    var digits = (neg ? -big : big).toString();
    var text = (neg ? '-' : '') + digits + 'E-' + k;
    return new Num(new X(text), -k);
  }
  function dateDifference(a, b) {
    var aligned = alignDates(a, b);
    a = aligned[0]; b = aligned[1];
    if (a instanceof DateTimeV) {
      var us = a.us - b.us;
      var seconds = us % 1000000n === 0n ? new Num(new X((us / 1000000n).toString()), 0)
        : exactFloat(Number(us) / 1e6);
      return div(seconds, intNum(86400));
    }
    return intNum(a.days - b.days);
  }
  function repeat(text, times) {
    var count = wholeNumber(times, 'the repeat count of a text');
    if (count.gt(0) && count.times(textLength(text)).gt(MAX_TEXT)) textTooLong();
    if (count.gt('9223372036854775807')) outOfRange();  // Python: not an index-sized int
    return count.gt(0) ? text.repeat(count.toNumber()) : '';
  }

  var SLOW = {
    '+': {
      'number number': add,
      'text text': function (a, b) {
        if (textLength(a) + textLength(b) > MAX_TEXT) textTooLong();
        return a + b;
      },
      'date number': addDays,
      'number date': function (a, b) { return addDays(b, a, 1); },
      'date-time number': addMomentDays,
      'number date-time': function (a, b) { return addMomentDays(b, a, 1); }
    },
    '-': {
      'number number': sub,
      'date number': function (a, b) { return addDays(a, b, -1); },
      'date-time number': function (a, b) { return addMomentDays(a, b, -1); },
      'date date': dateDifference,
      'date-time date-time': dateDifference,
      'date date-time': dateDifference,
      'date-time date': dateDifference
    },
    '*': {
      'number number': mul,
      'text number': repeat,
      'number text': function (a, b) { return repeat(b, a); }
    },
    '/': {'number number': div},
    '//': {'number number': floorDivide},
    '%': {'number number': remainder},
    '**': {'number number': power}
  };

  function binary(symbol, a, b) {
    if (a === null || b === null) return null;
    var kinds = kind(a) + ' ' + kind(b);
    var rule = SLOW[symbol][kinds];
    if (!rule) {
      var hint = HINTS[symbol + ' ' + kind(a)] || HINTS[symbol + ' ' + kind(b)] || null;
      fail('cannot ' + VERBS[symbol] + ' ' + kind(a) + ' and ' + kind(b) + ' with ' + symbol, hint);
    }
    return rule(a, b);
  }

  function alignDates(a, b) {
    if (a instanceof DateTimeV && b instanceof DateV) {
      return [a, new DateTimeV(BigInt(b.days) * US_PER_DAY, a.zone)];
    }
    if (b instanceof DateTimeV && a instanceof DateV) {
      return [new DateTimeV(BigInt(a.days) * US_PER_DAY, b.zone), b];
    }
    return [a, b];
  }

  // Python's == between two values of any kinds (list items, rows)
  function pyEqual(a, b) {
    if (a === null || b === null) return a === b;
    var na = a instanceof Num ? a.v : typeof a === 'boolean' ? new X(a ? 1 : 0) : null;
    var nb = b instanceof Num ? b.v : typeof b === 'boolean' ? new X(b ? 1 : 0) : null;
    if (na !== null || nb !== null) return na !== null && nb !== null && na.eq(nb);
    if (typeof a === 'string' || typeof b === 'string') return a === b;
    if (a instanceof DateV && b instanceof DateV) return a.days === b.days;
    if (a instanceof DateTimeV && b instanceof DateTimeV) return a.us === b.us;
    if (Array.isArray(a) && Array.isArray(b)) {
      return a.length === b.length && a.every(function (x, i) { return pyEqual(x, b[i]); });
    }
    if (a instanceof Row && b instanceof Row) {
      var ka = Object.keys(a.fields), kb = Object.keys(b.fields);
      return ka.length === kb.length && ka.every(function (k) {
        return k in b.fields && pyEqual(load(a.fields[k], 'UTC'), load(b.fields[k], 'UTC'));
      });
    }
    return false;
  }

  function equal(a, b) {
    if (a === null || b === null) return a === b;
    var ka = kind(a), kb = kind(b);
    if (ka !== kb && !((ka === 'date' && kb === 'date-time') || (ka === 'date-time' && kb === 'date'))) {
      return false;
    }
    var aligned = alignDates(a, b);
    return pyEqual(aligned[0], aligned[1]);
  }

  var ORDERABLE = {
    'number number': 1, 'text text': 1, 'date date': 1, 'date-time date-time': 1,
    'date date-time': 1, 'date-time date': 1, 'yes/no yes/no': 1
  };
  function order(a, b) {
    if (a instanceof Num) return a.v.cmp(b.v);
    if (typeof a === 'string') return compareText(a, b);
    if (typeof a === 'boolean') return (a ? 1 : 0) - (b ? 1 : 0);
    if (a instanceof DateV) return a.days < b.days ? -1 : a.days > b.days ? 1 : 0;
    return a.us < b.us ? -1 : a.us > b.us ? 1 : 0;
  }
  function ordered(symbol, test) {
    return function (a, b) {
      if (a === null || b === null) return false;
      if (!ORDERABLE[kind(a) + ' ' + kind(b)]) {
        fail('cannot compare ' + kind(a) + ' with ' + kind(b) + ' using ' + symbol,
          'convert one side with VALUE(...) or TEXT(...)');
      }
      var aligned = alignDates(a, b);
      return test(order(aligned[0], aligned[1]));
    };
  }
  function contains(item, container) {
    if (container === null) return false;
    if (Array.isArray(container)) return container.some(function (m) { return equal(item, m); });
    if (typeof container === 'string' && typeof item === 'string') return container.indexOf(item) >= 0;
    fail('cannot look for ' + kind(item) + ' in ' + kind(container) + ' with in');
  }
  var COMPARE = {
    '==': equal,
    '!=': function (a, b) { return !equal(a, b); },
    '<': ordered('<', function (c) { return c < 0; }),
    '<=': ordered('<=', function (c) { return c <= 0; }),
    '>': ordered('>', function (c) { return c > 0; }),
    '>=': ordered('>=', function (c) { return c >= 0; }),
    'in': contains,
    'not in': function (a, b) { return !contains(a, b); }
  };

  // ---- functions -----------------------------------------------------------------
  function needNumber(name, value) {
    if (!(value instanceof Num)) fail(name + ' needs a number, got ' + kind(value));
    return value;
  }
  function needText(name, value) {
    if (typeof value !== 'string') fail(name + ' needs text, got ' + kind(value), 'convert with TEXT(...)');
    return value;
  }
  function needDate(name, value) {
    if (!(value instanceof DateV) && !(value instanceof DateTimeV)) {
      fail(name + ' needs a date, got ' + kind(value));
    }
    return value;
  }

  function quantize(name, mode) {
    return function (value, digits) {
      if (digits === undefined) digits = intNum(0);
      if (value === null) return null;
      var number = needNumber(name, value);
      var places = wholeNumber(digits, 'the digits of ' + name);
      if (places.abs().gt(MAX_ROUND_DIGITS)) fail(name + ' rounds to at most ' + MAX_ROUND_DIGITS + ' digits');
      var k = places.toNumber();
      var tooBig = function () { fail(name + ': the number is too large to round'); };
      if (k >= 0) {
        var r = new X(number.v).toDecimalPlaces(k, mode);
        if (!r.isZero() && (r.e + k + 1 > PREC || r.e > EMAX)) tooBig();
        return new Num(r, -k);
      }
      var whole = new X(number.v).times(new X('1e' + k)).toDecimalPlaces(0, mode);
      if (!whole.isZero() && whole.e + 1 > PREC) tooBig();
      return mul(new Num(whole, 0), new Num(new X('1e' + (-k)), -k));
    };
  }

  var aggregateItems = function (args) {
    var items = [];
    args.forEach(function (argument) {
      (Array.isArray(argument) ? argument : [argument]).forEach(function (member) {
        if (!isBlank(member)) items.push(member);
      });
    });
    return items;
  };
  function numbers(name, args) {
    return aggregateItems(args).map(function (item) {
      if (!(item instanceof Num)) fail(name + ' works on numbers only, found ' + kind(item));
      return item;
    });
  }
  function extreme(symbol) {
    var better = COMPARE[symbol];
    return function () {
      var best = null;
      aggregateItems(Array.prototype.slice.call(arguments)).forEach(function (item) {
        if (best === null || better(item, best)) best = item;
      });
      return best;
    };
  }

  var DATE_UNITS = ['day', 'week', 'month', 'year'];
  function unit(name, value) {
    var text = typeof value === 'string' ? value.toLowerCase().replace(/s+$/, '') : value;
    if (DATE_UNITS.indexOf(text) < 0) {
      fail(name + ': unknown unit ' + pyRepr(value), "use one of 'day', 'week', 'month', 'year'");
    }
    return text;
  }
  function daysInMonth(y, m) { return civil(daysFromCivil(m === 12 ? y + 1 : y, m === 12 ? 1 : m + 1, 1) - 1).d; }
  function addMonths(days, months) {
    var c = civil(days);
    var index = c.y * 12 + c.m - 1 + months;
    var year = Math.floor(index / 12), month = index - year * 12 + 1;
    if (year < 1 || year > 9999) fail('DATEADD: the result is outside the years 1 to 9999');
    return daysFromCivil(year, month, Math.min(c.d, daysInMonth(year, month)));
  }
  function monthsBetween(s, e) {
    var a = civil(s), b = civil(e);
    var months = (b.y - a.y) * 12 + b.m - a.m;
    return b.d < a.d ? months - 1 : months;
  }
  var DIFFERENCES = {
    day: function (s, e) { return e - s; },
    week: function (s, e) { return Math.floor((e - s) / 7); },
    month: monthsBetween,
    year: function (s, e) { return Math.floor(monthsBetween(s, e) / 12); }
  };

  function contextValue(key) {
    return function (ctx) { var v = ctx.options[key]; return v === undefined ? null : v; };
  }

  // ---- TIER, ALLOCATE, ALLOCATE_SHARE (engine/expressions/functions/tiers.py) ---------
  function tierNumber(value, what) {
    if (isBlank(value)) return null;
    if (!(value instanceof Num)) fail('TIER: ' + what + ' must be a number, got ' + kind(value));
    return value;
  }
  function tierBand(row, position) {
    var where = 'band ' + position, lower, upper, rate, fixed = null;
    var field = function (key) {
      return Object.prototype.hasOwnProperty.call(row.fields, key) ? load(row.fields[key], 'UTC') : null;
    };
    if (row instanceof Row) {
      lower = field('lower'); upper = field('upper'); rate = field('rate'); fixed = field('fixed_amount');
    } else if (Array.isArray(row) && (row.length === 3 || row.length === 4)) {
      lower = row[0]; upper = row[1]; rate = row[2]; if (row.length === 4) fixed = row[3];
    } else {
      fail('TIER: ' + where + ' must be a sub-table row or a list [lower, upper, rate], got ' + kind(row),
        'for example [[0, 1000000, 0], [1000000, null, 0.02]]');
    }
    var band = {
      lower: tierNumber(lower, 'the lower bound of ' + where),
      upper: tierNumber(upper, 'the upper bound of ' + where),
      rate: tierNumber(rate, 'the rate of ' + where),
      fixed: tierNumber(fixed, 'the fixed amount of ' + where),
      position: position
    };
    if (band.lower === null) fail('TIER: ' + where + ' has no lower bound', 'fill in its lower value');
    if (band.upper !== null && band.upper.v.lte(band.lower.v)) {
      fail('TIER: ' + where + ' has upper bound ' + formatNumber(band.upper) + ' not above its lower bound ' +
        formatNumber(band.lower), 'bands are [lower, upper): upper must be greater than lower');
    }
    if (band.rate === null && band.fixed === null) fail('TIER: ' + where + ' has neither a rate nor a fixed amount');
    if (band.rate !== null && band.fixed !== null && !band.rate.v.isZero()) {
      fail('TIER: ' + where + ' has both a rate and a fixed amount',
        'fill in one of them (a fixed amount pays that amount for the whole band)');
    }
    return band;
  }
  function tierBands(tiers) {
    if (isBlank(tiers)) fail('TIER: the tier table is empty', 'add at least one band');
    if (!Array.isArray(tiers)) {
      fail('TIER: the tiers must be a sub-table or a list of bands, got ' + kind(tiers),
        "for example TIER(amount, tiers, 'whole') with a sub-table named tiers");
    }
    var bands = tiers.map(function (row, i) { return tierBand(row, i + 1); });
    bands.sort(function (a, b) { return a.lower.v.cmp(b.lower.v) || a.position - b.position; });
    var hint = 'each band must start where the previous one ends';
    for (var i = 0; i + 1 < bands.length; i++) {
      var below = bands[i], above = bands[i + 1];
      if (below.upper === null) {
        fail('TIER: band ' + below.position + ' has no upper bound but band ' + above.position +
          ' starts above it at ' + formatNumber(above.lower), 'only the highest band may leave its upper bound blank');
      }
      if (below.upper.v.lt(above.lower.v)) {
        fail('TIER: gap between band ' + below.position + ' (ends at ' + formatNumber(below.upper) + ') and band ' +
          above.position + ' (starts at ' + formatNumber(above.lower) + ')', hint);
      }
      if (below.upper.v.gt(above.lower.v)) {
        fail('TIER: band ' + below.position + ' (up to ' + formatNumber(below.upper) + ') overlaps band ' +
          above.position + ' (from ' + formatNumber(above.lower) + ')', hint);
      }
    }
    return bands;
  }
  var TIER_MODES = {whole: 'whole', '全额': 'whole', progressive: 'progressive', '超额': 'progressive'};
  function tier(value, tiers, mode, cap, floor) {
    var chosen = typeof mode === 'string' ? TIER_MODES[pyStrip(mode).toLowerCase()] : undefined;
    if (chosen === undefined) {
      fail('TIER: unknown mode ' + (typeof mode === 'string' ? pyRepr(mode) : kind(mode)),
        "write 'whole' (the band's rate applies to the whole value) or 'progressive' " +
        "(each band's slice at its own rate)");
    }
    var bands = tierBands(tiers);
    var number = tierNumber(value, 'the value');
    var capN = tierNumber(cap === undefined ? null : cap, 'the cap (4th argument)');
    var floorN = tierNumber(floor === undefined ? null : floor, 'the floor (5th argument)');
    if (capN !== null && floorN !== null && capN.v.lt(floorN.v)) {
      fail('TIER: the cap ' + formatNumber(capN) + ' is below the floor ' + formatNumber(floorN),
        'TIER(value, tiers, mode, cap, floor): the cap is the upper limit');
    }
    if (number === null) return null;
    var last = bands[bands.length - 1];
    if (last.upper !== null && number.v.gte(last.upper.v)) {
      fail('TIER: the value ' + formatNumber(number) + " is not below the highest band's upper bound " +
        formatNumber(last.upper), "leave the highest band's upper bound blank so it has no limit");
    }
    var result;
    if (number.v.lt(bands[0].lower.v)) {
      result = intNum(0);
    } else if (chosen === 'whole') {
      var holding = null;
      bands.forEach(function (band) { if (band.lower.v.lte(number.v)) holding = band; });
      result = holding.fixed !== null ? holding.fixed : mul(number, holding.rate);
    } else {
      result = intNum(0);
      for (var i = 0; i < bands.length; i++) {
        var band = bands[i];
        if (number.v.lt(band.lower.v)) break;
        if (band.fixed !== null) {
          fail('TIER: band ' + band.position + " has a fixed amount, which only 'whole' mode uses",
            "give each band a rate in 'progressive' mode");
        }
        // half-open bands: a passed band counts (upper - lower), the holding one (value - lower)
        var top = band.upper === null || number.v.lt(band.upper.v) ? number : band.upper;
        result = add(result, mul(sub(top, band.lower), band.rate));
      }
    }
    if (capN !== null && result.v.gt(capN.v)) result = capN;
    if (floorN !== null && result.v.lt(floorN.v)) result = floorN;
    return result;
  }
  function allocate(total, weights) {
    var cents = null;
    if (!isBlank(total)) {
      if (!(total instanceof Num)) fail('ALLOCATE: the total must be a number, got ' + kind(total));
      cents = new X(total.v).times(100);
      if (!cents.isInteger()) {
        fail('ALLOCATE: the total ' + formatNumber(total) + ' has more than two decimal places',
          'round it first: ALLOCATE(ROUND(total, 2), ...)');
      }
    }
    var members = Array.isArray(weights) ? weights : [weights];
    if (members.length === 0) fail('ALLOCATE: there are no weights', 'the sub-table has no rows');
    var parts = members.map(function (weight, i) {
      if (isBlank(weight)) return new X(0);
      if (!(weight instanceof Num)) fail('ALLOCATE: weight ' + (i + 1) + ' must be a number, got ' + kind(weight));
      if (weight.v.isNegative() && !weight.v.isZero()) {
        fail('ALLOCATE: weight ' + (i + 1) + ' is negative (' + formatNumber(weight) + ')', 'weights must be 0 or more');
      }
      return new X(weight.v);
    });
    if (cents === null) return null;
    var sum = parts.reduce(function (a, b) { return X.add(a, b); }, new X(0));
    if (sum.isZero()) {
      fail('ALLOCATE: the weights add up to 0, so there is nothing to split by',
        'give at least one row a weight above 0');
    }
    var sign = cents.isNegative() ? -1 : 1, magnitude = cents.abs();
    // share = floor(magnitude * w / sum); remainders compared as magnitude * w - share * sum
    var shares = [], rest = [], given = new X(0);
    parts.forEach(function (part) {
      var product = X.mul(magnitude, part);
      var share = product.divToInt(sum);
      shares.push(share);
      rest.push(X.sub(product, X.mul(share, sum)));
      given = X.add(given, share);
    });
    var order = parts.map(function (_, i) { return i; });
    order.sort(function (a, b) { return rest[b].cmp(rest[a]) || a - b; });  // earlier row first on ties
    var leftover = X.sub(magnitude, given).toNumber();
    for (var k = 0; k < leftover; k++) shares[order[k]] = X.add(shares[order[k]], 1);
    return shares.map(function (share) {
      var v = X.div(share, 100);
      if (sign < 0 && !v.isZero()) v = v.negated();
      return new Num(v, -2);
    });
  }
  function allocateShare(total, weights, position) {
    if (isBlank(position)) return null;
    if (!(position instanceof Num)) fail('ALLOCATE_SHARE: the position must be a whole number, got ' + kind(position));
    if (!position.v.isInteger()) {
      fail('ALLOCATE_SHARE: the position must be a whole number, got ' + formatNumber(position));
    }
    var shares = allocate(total, weights);
    if (shares === null) return null;
    var index = position.v.toNumber();
    if (index < 1 || index > shares.length) {
      fail('ALLOCATE_SHARE: position ' + index + ' is outside the ' + shares.length + ' weights',
        'positions count from 1 to the number of rows');
    }
    return shares[index - 1];
  }

  var FUNCTIONS = {
    NOT: function (a) { return !truthy(a); },
    ISBLANK: isBlank,
    IN: function (value) {
      for (var i = 1; i < arguments.length; i++) {
        var c = arguments[i];
        var members = Array.isArray(c) ? c : [c];
        if (members.some(function (m) { return equal(value, m); })) return true;
      }
      return false;
    },
    COALESCE: function () {
      for (var i = 0; i < arguments.length; i++) if (!isBlank(arguments[i])) return arguments[i];
      return null;
    },
    ROUND: quantize('ROUND', Decimal.ROUND_HALF_UP),
    CEILING: quantize('CEILING', Decimal.ROUND_CEIL),
    FLOOR: quantize('FLOOR', Decimal.ROUND_FLOOR),
    ABS: function (value) {
      return value === null ? null : fin(needNumber('ABS', value).v.abs(), value.e);
    },
    VALUE: valueOf,
    SUM: function () {
      var total = intNum(0);
      numbers('SUM', Array.prototype.slice.call(arguments)).forEach(function (n) { total = add(total, n); });
      return total;
    },
    AVG: function () {
      var items = numbers('AVG', Array.prototype.slice.call(arguments));
      if (!items.length) return null;
      var total = intNum(0);
      items.forEach(function (n) { total = add(total, n); });
      return div(total, intNum(items.length));
    },
    COUNT: function () { return intNum(aggregateItems(Array.prototype.slice.call(arguments)).length); },
    MIN: extreme('<'),
    MAX: extreme('>'),
    CONCAT: function () {
      var parts = [], total = 0;
      for (var i = 0; i < arguments.length; i++) {
        var part = toText(arguments[i]);
        total += textLength(part);
        if (total > MAX_TEXT) textTooLong();
        parts.push(part);
      }
      return parts.join('');
    },
    LEN: function (value) {
      if (value === null) return intNum(0);
      if (Array.isArray(value)) return intNum(value.length);
      return intNum(textLength(needText('LEN', value)));
    },
    UPPER: function (value) { return value === null ? null : checkedText(needText('UPPER', value).toUpperCase()); },
    LOWER: function (value) { return value === null ? null : checkedText(needText('LOWER', value).toLowerCase()); },
    TRIM: function (value) { return value === null ? null : pyStrip(needText('TRIM', value)); },
    TEXT: function (value) { return checkedText(toText(value)); },
    TODAY: function (ctx) { return new DateV(dateOf(ctx.now)); },
    NOW: function (ctx) { return ctx.now; },
    DATEADD: function (value, amount, unitValue) {
      if (value === null || amount === null) return null;
      var start = needDate('DATEADD', value);
      var count = wholeNumber(amount, 'the amount of DATEADD');
      var u = unit('DATEADD', unitValue === undefined ? 'day' : unitValue);
      var outside = function () { fail('DATEADD: the result is outside the years 1 to 9999'); };
      var days = dateOf(start), result;
      if (u === 'day' || u === 'week') {
        var n = count.times(u === 'week' ? 7 : 1);
        if (count.abs().gt(999999999) || n.abs().gt(999999999)) outside();
        result = days + n.toNumber();
        if (result < MIN_DAY || result > MAX_DAY) outside();
      } else {
        var months = count.times(u === 'year' ? 12 : 1);
        if (months.abs().gt(1e6)) outside();
        result = addMonths(days, months.toNumber());
      }
      if (start instanceof DateV) return new DateV(result);
      return new DateTimeV(start.us + BigInt(result - days) * US_PER_DAY, start.zone);
    },
    DATEDIF: function (start, end, unitValue) {
      if (start === null || end === null) return null;
      var first = dateOf(needDate('DATEDIF', start)), last = dateOf(needDate('DATEDIF', end));
      var measure = DIFFERENCES[unit('DATEDIF', unitValue === undefined ? 'day' : unitValue)];
      return intNum(first <= last ? measure(first, last) : -measure(last, first));
    },
    YEAR: datePart('YEAR', 'y'),
    MONTH: datePart('MONTH', 'm'),
    DAY: datePart('DAY', 'd'),
    CURRENT_USER: contextValue('user'),
    CURRENT_DEPARTMENT: contextValue('department'),
    CURRENT_DEALER: contextValue('dealer'),
    CURRENT_REGION: contextValue('region'),
    TIER: tier,
    ALLOCATE: allocate,
    ALLOCATE_SHARE: allocateShare
  };
  var NEEDS_CONTEXT = {
    TODAY: 1, NOW: 1, CURRENT_USER: 1, CURRENT_DEPARTMENT: 1, CURRENT_DEALER: 1, CURRENT_REGION: 1
  };

  function datePart(name, part) {
    return function (value) {
      return value === null ? null : intNum(civil(dateOf(needDate(name, value)))[part]);
    };
  }

  function isDigit(ch) { return /\p{Nd}/u.test(ch); }
  function asciiDigits(text) {
    // Decimal() reads any Unicode decimal digit: map each to 0-9
    return codePoints(text).map(function (ch) {
      if (ch >= '0' && ch <= '9') return ch;
      if (!isDigit(ch)) return ch;
      var cp = ch.codePointAt(0), zero = cp;
      while (zero > 0 && isDigit(String.fromCodePoint(zero - 1))) zero--;
      return String((cp - zero) % 10);
    }).join('');
  }
  function valueOf(text) {
    if (text === null) return null;
    if (text instanceof Num) return text;
    if (typeof text !== 'string') fail('VALUE needs text, got ' + kind(text));
    var cleaned = pyStrip(text).replace(/,/g, '').replace(/，/g, '').replace(/^[¥￥]+/, '');
    if (!cleaned) return null;
    var digits = codePoints(cleaned).filter(isDigit).length;
    var number = null;
    var candidate = asciiDigits(pyStrip(cleaned));
    if (digits <= MAX_LITERAL_DIGITS && /^[+-]?(\d(_?\d)*)?(\.(\d(_?\d)*)?)?([eE][+-]?\d(_?\d)*)?$/.test(candidate)) {
      number = parseNumber(candidate.replace(/_/g, ''));
    }
    if (number === null || (!number.v.isZero() && Math.abs(number.v.e) > MAX_LITERAL_DIGITS) ||
        (number.v.isZero() && Math.abs(number.e) > MAX_LITERAL_DIGITS)) {
      fail('VALUE: ' + reprText(codePoints(text).slice(0, 40).join('')) + ' is not a number',
        'write digits like "1234.50"');
    }
    return number;
  }

  // ---- the interpreter -----------------------------------------------------------
  function located(error, node) {
    if (error instanceof FormulaError && error.column === null) error.column = node.at;
    return error;
  }

  // The node whose line ends a node's generated Python code (codegen.py): a runtime
  // error in the second comparison of a chain is reported at that node's column there.
  function lastNode(node) {
    switch (node.op) {
      case 'list': return node.items.length ? lastNode(node.items[node.items.length - 1]) : node;
      case 'unary': return lastNode(node.operand);
      case 'binary': return lastNode(node.right);
      case 'and': case 'or': return lastNode(node.args[node.args.length - 1]);
      case 'compare': return lastNode(node.operands[node.operands.length - 1]);
      case 'if': return lastNode(node['else']);
      case 'call':
        if (node['function'] === 'IF' && node.args.length === 2) return lastNode(node.args[0]);
        return node.args.length ? lastNode(node.args[node.args.length - 1]) : node;
      default: return node;
    }
  }

  function Evaluation(values, context) {
    context = context || {};
    this.options = context;
    this.zone = context.timezone || 'Asia/Shanghai';
    this.rawValues = values || {};
    this.names = {};
    this.nowValue = undefined;
  }
  Object.defineProperty(Evaluation.prototype, 'now', {
    get: function () {
      if (this.nowValue === undefined) {
        var now = this.options.now;
        if (now && typeof now === 'object' && '$datetime' in now) now = now.$datetime;
        if (typeof now === 'string') this.nowValue = parseDateTime(now, this.zone);
        else {
          var ms = now instanceof Date ? now.getTime() : Date.now();
          this.nowValue = wallFromUtcUs(BigInt(ms) * 1000n, this.zone);
        }
      }
      return this.nowValue;
    }
  });

  // every name is read and converted before evaluation, in order of first use, as the
  // generated Python does (a bad input fails even in a branch that is not taken)
  Evaluation.prototype.prelude = function (node) {
    var self = this;
    var visit = function (n) {
      var key = n.op === 'name' ? n.name : n.op === 'column' ? n.subtable : n.op === 'lookup' ? n.relation : null;
      if (key !== null && !Object.prototype.hasOwnProperty.call(self.names, key)) {
        var raw = self.rawValues[key];
        try {
          self.names[key] = Array.isArray(raw) ? raw.map(function (item) {
            return item !== null && typeof item === 'object' && !Array.isArray(item) && !hasTag(item)
              ? new Row(item) : load(item, self.zone);
          }) : load(raw === undefined ? null : raw, self.zone);
        } catch (error) { throw located(error, n); }
      }
      ['operand', 'left', 'right', 'test', 'then', 'else'].forEach(function (k) {
        if (n[k]) visit(n[k]);
      });
      ['items', 'args', 'operands'].forEach(function (k) { if (n[k]) n[k].forEach(visit); });
    };
    // emission order: test before then/else for 'if'; the keys above are in that order
    visit(node);
  };
  function hasTag(object) {
    return Object.keys(object).some(function (k) { return k.charAt(0) === '$'; });
  }

  Evaluation.prototype.column = function (node) {
    var rows = this.names[node.subtable];
    if (!Array.isArray(rows)) return [];
    var zone = this.zone;
    return rows.map(function (row) {
      var raw = row instanceof Row ? row.fields[node.column] : null;
      return load(raw === undefined ? null : raw, zone);
    });
  };

  Evaluation.prototype.run = function (node) {
    try {
      return this.node(node);
    } catch (error) {
      throw located(error, node);
    }
  };

  Evaluation.prototype.node = function (node) {
    var self = this;
    switch (node.op) {
      case 'literal': return node.value;
      case 'number': return parseNumber(node.value);
      case 'text': return node.value;
      case 'name': return this.names[node.name];
      case 'column': return this.column(node);
      case 'list': return node.items.map(function (item) { return self.run(item); });
      case 'unary': {
        var operand = this.run(node.operand);
        if (node.operator === 'not') return !truthy(operand);
        if (operand === null) return null;
        if (kind(operand) !== 'number') {
          fail(node.operator === '-' ? 'cannot negate ' + kind(operand) + ' with -' : 'cannot use + on ' + kind(operand));
        }
        return node.operator === '-' ? negate(operand) : plus(operand);
      }
      case 'binary': {
        var left = this.run(node.left), right = this.run(node.right);
        return binary(node.operator, left, right);
      }
      case 'and':
        for (var i = 0; i < node.args.length; i++) if (!truthy(this.run(node.args[i]))) return false;
        return true;
      case 'or':
        for (var j = 0; j < node.args.length; j++) if (truthy(this.run(node.args[j]))) return true;
        return false;
      case 'compare': {
        var a = this.run(node.operands[0]);
        for (var k = 0; k < node.operators.length; k++) {
          var b = this.run(node.operands[k + 1]);
          var outcome;
          try {
            outcome = COMPARE[node.operators[k]](a, b);
          } catch (error) {
            throw located(error, k === 0 ? node : lastNode(node.operands[k]));
          }
          if (!outcome) return false;
          a = b;
        }
        return true;
      }
      case 'if': return truthy(this.run(node.test)) ? this.run(node.then) : this.run(node['else']);
      case 'call': return this.call(node);
      case 'lookup': return this.lookup(node);
      default: fail('unknown node ' + node.op);
    }
  };

  Evaluation.prototype.call = function (node) {
    var self = this, name = node['function'], args = node.args;
    if (name === 'IF') {
      if (truthy(this.run(args[0]))) return this.run(args[1]);
      return args.length === 3 ? this.run(args[2]) : null;
    }
    if (name === 'AND' || name === 'OR') {
      return this.node({op: name.toLowerCase(), args: args, at: node.at});
    }
    if (name === 'LOOKUP') fail('LOOKUP needs its relation field as a name');
    var impl = FUNCTIONS[name];
    if (!impl) fail('the function ' + name + ' is not available in the browser');
    var values = args.map(function (arg) { return self.run(arg); });
    if (NEEDS_CONTEXT[name]) values.unshift(this);
    return impl.apply(null, values);
  };

  Evaluation.prototype.lookup = function (node) {
    var record = this.names[node.relation];
    if (record === null || record === undefined) return null;
    var key = record instanceof Num ? numberText(record) : String(record);
    var table = this.options.lookups;
    var found = table && table[node.relation] && table[node.relation][key];
    if (found && Object.prototype.hasOwnProperty.call(found, node.target)) {
      return load(found[node.target], this.zone);
    }
    if (typeof this.options.lookup === 'function') {
      var value = this.options.lookup(node.relation, key, node.target);
      if (value !== undefined) return load(value, this.zone);
    }
    throw new Unknown('LOOKUP');
  };

  function treeOf(doc) {
    if (doc && doc.tree && doc.version !== undefined) {
      if (doc.version !== 1) fail('unsupported formula tree version ' + doc.version);
      return doc.tree;
    }
    return doc;
  }

  function evaluate(doc, values, context) {
    var tree = treeOf(doc);
    var evaluation = new Evaluation(values, context);
    try {
      evaluation.prelude(tree);
      return encode(evaluation.run(tree));
    } catch (error) {
      if (error instanceof Unknown) return {$unknown: error.what};
      if (error instanceof FormulaError) throw error;
      if (error instanceof RangeError) throw located(new FormulaError('a date or number is out of range'), tree);
      throw error;
    }
  }

  function tryEvaluate(doc, values, context) {
    try {
      return {ok: true, value: evaluate(doc, values, context)};
    } catch (error) {
      if (!(error instanceof FormulaError)) throw error;
      return {ok: false, error: {message: error.message, column: error.column, hint: error.hint}};
    }
  }

  global.LowcodeFormula = {
    evaluate: evaluate,
    tryEvaluate: tryEvaluate,
    FormulaError: FormulaError,
    version: 1
  };
})(typeof window !== 'undefined' ? window : globalThis);
