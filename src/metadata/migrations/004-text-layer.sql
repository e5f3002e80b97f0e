-- Schema 4: the OCR text layer's state (issue #13). A capture commits with `pending`; the `document.ocr`
-- job sets `ready` or `failed`. Documents from before have none (`none`). The archive feed's `final`
-- view stops at the caller's oldest pending document, so it hands documents over in order, each once, final.
ALTER TABLE documents ADD COLUMN text_layer text NOT NULL DEFAULT 'none' CHECK (text_layer IN ('none', 'pending', 'ready', 'failed'));
CREATE INDEX documents_text_pending ON documents (unit, feed_seq) WHERE text_layer = 'pending';
