// The stadstwin HTTP API (see notes in the service): bearer token from ?token=, else the one stored in this browser.

const TOKEN_KEY = 'stadstwin.token';

/** The API token: `?token=` in the page URL (then remembered), else the remembered one, else null. */
export function apiToken() {
  const fromUrl = new URLSearchParams(window.location.search).get('token');
  if (fromUrl) {
    window.localStorage.setItem(TOKEN_KEY, fromUrl);
    return fromUrl;
  }
  return window.localStorage.getItem(TOKEN_KEY);
}

/** Remember a token typed into the page. */
export function storeToken(token) {
  window.localStorage.setItem(TOKEN_KEY, token);
}

/** An API error with the service's JSON reason. */
export class ApiError extends Error {
  constructor(status, detail, url) {
    super(`${url}: ${status} ${detail}`);
    this.status = status;
    this.detail = detail;
  }
}

/** Client for one token; every method returns parsed JSON or an ArrayBuffer/Blob. */
export class Api {
  constructor(token) {
    this.token = token;
  }

  async fetch(url) {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!response.ok) {
      let detail = response.statusText;
      try {
        detail = (await response.json()).detail ?? detail;
      } catch {
        // not JSON: keep the status text
      }
      throw new ApiError(response.status, detail, url);
    }
    return response;
  }

  async json(url) {
    return (await this.fetch(url)).json();
  }

  scenes() {
    return this.json('/api/scenes');
  }

  scene(name) {
    return this.json(`/api/scenes/${encodeURIComponent(name)}`);
  }

  layers(scene, variant) {
    return this.json(`/api/scenes/${encodeURIComponent(scene)}/variants/${encodeURIComponent(variant)}/layers`);
  }

  results(scene, variant) {
    return this.json(`/api/scenes/${encodeURIComponent(scene)}/variants/${encodeURIComponent(variant)}/results`);
  }

  findings(scene, variant) {
    return this.json(`/api/scenes/${encodeURIComponent(scene)}/variants/${encodeURIComponent(variant)}/findings`);
  }

  /** The scene's plans as this organisation may see them, with the koppelkansen among them. */
  plans(scene) {
    return this.json(`/api/scenes/${encodeURIComponent(scene)}/plans?koppelkansen=true`);
  }

  async arrayBuffer(url) {
    return (await this.fetch(url)).arrayBuffer();
  }

  async blob(url) {
    return (await this.fetch(url)).blob();
  }
}
