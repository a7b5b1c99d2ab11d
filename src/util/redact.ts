/** Hides the password of a URL before it is printed or stored. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.hostname) {
      if (u.password) u.password = '***'
      return u.toString()
    }
  } catch {
    // not a URL: fall through to the textual redaction
  }
  // "user:secret@" wherever it stands, with or without a user name or both slashes
  return url.replace(/([:/])([^:/@]*):[^/@]*@/, '$1$2:***@')
}
