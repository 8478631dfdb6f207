import { apiInitializer } from "discourse/lib/api";

// The public address of the Backprop Q&A API (`python -m bot serve`): change it to your server's.
const API = "https://backprop-qa.example.org";

export default apiInitializer("1.8.0", () => {
  // One script tag per page load: the widget itself waits for the composer to open and watches its textarea.
  const script = document.createElement("script");
  script.src = `${API}/widget.js`;
  script.async = true;
  script.dataset.api = API;
  script.dataset.count = "3";
  document.head.appendChild(script);
});
