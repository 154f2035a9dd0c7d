// Number formatting for the savings dashboard. Money arrives from the API as
// exact decimal strings ("541.9277879"); it is rounded here as text (BigInt),
// never through floating point, so what the page shows is the API's figure
// rounded half away from zero:
//   |x| >= 1      -> 2 decimals with thousands separators   "$1,234.57"
//   0 < |x| < 1   -> 4 significant digits, at least 2 places "$0.001235", "$0.50"
//   0             -> "$0.00"
// Loaded by the page as a classic script (window.GatewayFormat) and by the
// browser test with require().
(function (root) {
  "use strict";

  // "-12.3450" -> {neg: true, int: "12", frac: "3450"}; null when not a decimal.
  function parse(text) {
    const m = /^([+-])?(\d*)(?:\.(\d*))?$/.exec(String(text).trim());
    if (!m || (m[2] === "" && (m[3] === undefined || m[3] === ""))) return null;
    return { neg: m[1] === "-", int: (m[2] || "0").replace(/^0+(?=\d)/, ""), frac: m[3] || "" };
  }

  // Rounds digits (integer string `int` + fraction `frac`) to `places` decimals,
  // half away from zero. Returns [intString, fracString of length places].
  function roundTo(int, frac, places) {
    const padded = (frac + "0".repeat(places + 1)).slice(0, places + 1);
    let scaled = BigInt(int + padded.slice(0, places));
    if (Number(padded[places]) >= 5) scaled += 1n;
    const digits = scaled.toString().padStart(places + 1, "0");
    const i = digits.length - places;
    return [digits.slice(0, i), digits.slice(i)];
  }

  function groupThousands(int) {
    return int.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }

  function isZero(p) {
    return /^0*$/.test(p.int) && /^0*$/.test(p.frac);
  }

  // Money text for a decimal string (or number), e.g. "$1,234.57".
  function money(text) {
    if (text === null || text === undefined || text === "") return "–";
    const p = parse(text);
    if (!p) return String(text);
    if (isZero(p)) return "$0.00";
    const sign = p.neg ? "-" : "";
    if (p.int !== "0") {
      const [i, f] = roundTo(p.int, p.frac, 2);
      return sign + "$" + groupThousands(i) + "." + f;
    }
    // Below one dollar: 4 significant digits, at least 2 places.
    const lead = p.frac.search(/[1-9]/);
    const places = Math.max(2, lead + 4);
    let [i, f] = roundTo("0", p.frac, places);
    if (i !== "0") return sign + "$" + i + "." + f.slice(0, 2);
    f = f.replace(/0+$/, "");
    if (f.length < 2) f = f.padEnd(2, "0");
    return sign + "$0." + f;
  }

  // Whole money for axes and compact spots: "$1.2k", "$950", "$0.42".
  function moneyShort(value) {
    const n = Number(value);
    if (!isFinite(n)) return "–";
    const a = Math.abs(n);
    if (a >= 1e6) return (n < 0 ? "-" : "") + "$" + (a / 1e6).toFixed(1) + "M";
    if (a >= 1e4) return (n < 0 ? "-" : "") + "$" + (a / 1e3).toFixed(1) + "k";
    if (a >= 100) return (n < 0 ? "-" : "") + "$" + Math.round(a).toLocaleString("en-US");
    return (n < 0 ? "-" : "") + "$" + a.toFixed(2);
  }

  // A percentage as the API wrote it ("34.21") -> "34.21%"; null -> "–".
  function percent(text) {
    if (text === null || text === undefined || text === "") return "–";
    return String(text) + "%";
  }

  function count(value) {
    if (value === null || value === undefined || value === "") return "–";
    const n = Number(value);
    return isFinite(n) ? n.toLocaleString("en-US") : String(value);
  }

  function compactCount(value) {
    const n = Number(value);
    if (!isFinite(n)) return "–";
    if (Math.abs(n) >= 1e9) return (n / 1e9).toFixed(1) + "B";
    if (Math.abs(n) >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (Math.abs(n) >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return n.toLocaleString("en-US");
  }

  function ms(value) {
    if (value === null || value === undefined || value === "") return "–";
    const n = Number(value);
    if (!isFinite(n)) return String(value);
    return n >= 10000 ? (n / 1000).toFixed(1) + " s" : n.toLocaleString("en-US") + " ms";
  }

  const api = { money, moneyShort, percent, count, compactCount, ms, parse };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.GatewayFormat = api;
})(typeof self !== "undefined" ? self : this);
