// Dashboard charts (web/templates/_dashboard_widget.html): each .dash-chart names the
// <script type="application/json"> holding its ECharts option, built by the engine.
// The option's extra "drill" key (per series, per dataIndex: the point's filter) is
// taken out before setOption and used on click:
// - a widget named in an interaction's "from" reloads the dashboard with the
//   interaction's filter set to the point's value of its first dimension;
//   Ctrl/Cmd-click opens the point's records instead;
// - any other point opens the drill page of its records.
(function () {
  "use strict";

  var charts = [];

  function formatter(format, decimals) {
    var places = decimals === "" ? null : Number(decimals);
    return function (value) {
      if (value === null || value === undefined || value === "" || isNaN(value)) { return "—"; }
      var number = Number(value);
      if (format === "money") {
        var digits = places === null ? 2 : places;
        var text = Math.abs(number).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
        return (number < 0 ? "-¥" : "¥") + text;
      }
      if (format === "integer") { return number.toLocaleString("en-US", { maximumFractionDigits: 0 }); }
      if (format === "percent") {
        var p = places === null ? 1 : places;
        return (number * 100).toLocaleString("en-US", { minimumFractionDigits: p, maximumFractionDigits: p }) + "%";
      }
      if (places !== null) {
        return number.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
      }
      return number.toLocaleString("en-US", { maximumFractionDigits: 6 });
    };
  }

  function withFilter(key, value) {
    var url = new URL(window.location.href);
    url.searchParams.set(key, value);
    url.searchParams.delete("page");
    return url.toString();
  }

  function drillUrl(element, point) {
    return element.dataset.drill + "&point=" + encodeURIComponent(JSON.stringify(point));
  }

  function onClick(element, drill) {
    return function (params) {
      var series = drill[params.seriesIndex || 0] || [];
      var point = series[params.dataIndex];
      if (!point) { return; }
      var native = params.event && params.event.event;
      var drillKey = native && (native.ctrlKey || native.metaKey);
      var sets = element.dataset.sets;
      var dimension = element.dataset.dimension;
      if (sets && !drillKey && Object.prototype.hasOwnProperty.call(point, dimension)) {
        window.location.assign(withFilter(sets, String(point[dimension])));
        return;
      }
      window.location.assign(drillUrl(element, point));
    };
  }

  function draw(element) {
    var source = document.getElementById(element.dataset.option);
    if (!source || typeof echarts === "undefined") { return; }
    var option = JSON.parse(source.textContent);
    if (!option) { return; }
    var drill = option.drill || [];
    delete option.drill;
    var format = formatter(element.dataset.format || "", element.dataset.decimals || "");
    // the tooltip drawn on the canvas: ECharts' HTML tooltip writes inline styles,
    // which the page's CSP refuses
    option.tooltip = Object.assign({ confine: true }, option.tooltip || {}, {
      renderMode: "richText",
      valueFormatter: format
    });
    var chart = echarts.init(element, null, { renderer: "canvas" });
    // marks the chart drawn once its first animation ends (tests and screenshots wait)
    chart.on("finished", function () { element.dataset.drawn = "1"; });
    chart.setOption(option);
    if (element.dataset.kind !== "kpi") {
      chart.on("click", onClick(element, drill));
    }
    charts.push(chart);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".dash-chart"), draw);
    var resizing = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizing);
      resizing = window.setTimeout(function () {
        charts.forEach(function (chart) { chart.resize(); });
      }, 100);
    });
    // a date typed by hand means "the dates below", not the preset
    Array.prototype.forEach.call(document.querySelectorAll(".dash-range"), function (box) {
      var preset = box.querySelector(".dash-preset");
      Array.prototype.forEach.call(box.querySelectorAll(".dash-date"), function (input) {
        input.addEventListener("change", function () { preset.value = "custom"; });
      });
      preset.addEventListener("change", function () {
        if (preset.value !== "custom") {
          Array.prototype.forEach.call(box.querySelectorAll(".dash-date"), function (input) { input.value = ""; });
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
