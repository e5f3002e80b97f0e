// A file of its own because the page's CSP forbids inline scripts.
const container = document.getElementById('redoc');
window.Redoc.init(container.dataset.specUrl, { expandResponses: '200,201', jsonSampleExpandLevel: 3 }, container);
