// MathJax 3 configuration for pymdownx.arithmatex (generic mode). MathJax itself
// (mathjax/tex-svg-full.js: es5/tex-svg-full.js of the npm package mathjax@3.2.2, unmodified, SVG
// output, every TeX extension in one file; its LICENSE beside it) is kept in the repository, so
// the site builds without npm and pages render offline.
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
