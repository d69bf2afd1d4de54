// MathJax 3 configuration for pymdownx.arithmatex (generic mode). MathJax itself
// (tex-svg-full.js, SVG output, every TeX extension in one file) is copied into the site at build
// time from the npm package, so pages render offline.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  svg: { fontCache: "global" },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    enableMenu: false,
  },
};
