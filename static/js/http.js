// JSON over HTTP to the server's /api, with its error shape turned into ApiError.

export class ApiError extends Error {
  /** `data`: the error's details, e.g. `resets_at` of a limit's refusal. */
  constructor(code, message, field, data) {
    super(message);
    this.code = code;
    this.field = field;
    this.data = data;
  }
}

/**
 * Call an API path; resolves with the JSON answer or rejects with an ApiError.
 * `headers` are added to the request; `credentials: "omit"` leaves the session cookie out.
 */
export async function api(path, { method = "GET", body, query, headers = {}, credentials = "same-origin", keepalive = false } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== "") params.set(name, value);
    }
    if ([...params].length) url += `?${params}`;
  }
  let response;
  try {
    response = await fetch(url, {
      method,
      credentials,
      keepalive,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError("NETWORK", "the server cannot be reached");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = data?.error ?? { code: "INTERNAL", message: `HTTP ${response.status}` };
    throw new ApiError(error.code, error.message, error.field, error.data);
  }
  return data;
}
