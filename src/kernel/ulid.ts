/** The id form of documents and audit entries: a 26-character ULID (Crockford base32, upper case). */
export const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;
