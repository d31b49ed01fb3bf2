// Hash routing: "#/dice" mounts the page registered as "dice".

export class Router {
  constructor(view, pages, fallback) {
    this.view = view;
    this.pages = pages; // name -> {mount(el) -> cleanup}
    this.fallback = fallback;
    this.cleanup = null;
    window.addEventListener("hashchange", () => this.render());
  }

  get route() {
    return location.hash.replace(/^#\/?/, "").split("?")[0] || "";
  }

  render() {
    this.cleanup?.();
    this.view.replaceChildren();
    const name = this.route;
    const page = this.pages[name] ?? this.fallback;
    this.cleanup = page.mount(this.view) ?? null;
    document.dispatchEvent(new CustomEvent("routechange", { detail: name }));
  }
}
