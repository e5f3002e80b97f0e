#!/usr/bin/env bash
# Installs the Debian packages the test suite (or the benchmarks) needs, when missing.
# Usage: scripts/system-deps.sh test|bench
set -euo pipefail
# Tests make fixtures with heif-enc (HEIC), ImageMagick (EXIF orientation) and PyMuPDF (encrypted PDFs);
# postgresql-15 is the metadata database server (tests run the suites on it and on PGlite);
# jwcrypto and cryptography are independent implementations that check our JWE and at-rest formats.
# xdomea messages are validated by xmllint (libxml2-utils) and Java's javax.xml.validation (the JDK:
# its single-file launch needs the compiler); their ZIPs are read by unzip and pdfinfo (poppler-utils) reads the rendition's XMP.
# mupdf-tools, qpdf and python3-pikepdf (with poppler-utils) are independent readers of the renditions and the
# benchmark's peers; fonts-dejavu-core and icc-profiles-free are run-time files of PDF/A renditions.
# tesseract-ocr with its German and English data is the OCR engine (run time too); libjpeg-turbo-progs (djpeg,
# jpegtran: tests only) is the independent decoder our in-process luma decode is checked against, and makes
# JPEG variants; ocrmypdf and python3-opencv are the benchmark's peers for OCR and perspective correction.
# docker-compose (1.29) checks docker-compose.yml (no Docker engine is needed for that), openssl makes a test certificate.
packages=(postgresql-15 radosgw ceph-mon ceph-osd chromium python3-jwcrypto python3-cryptography fonts-dejavu-core libheif-examples imagemagick python3-fitz
  libxml2-utils openjdk-17-jdk-headless unzip poppler-utils docker-compose openssl icc-profiles-free mupdf-tools qpdf python3-pikepdf
  tesseract-ocr tesseract-ocr-deu tesseract-ocr-eng libjpeg-turbo-progs ocrmypdf python3-opencv)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Missing Debian packages: ${missing[*]}" >&2
  echo "Install them (as root: apt-get install -y --no-install-recommends ${missing[*]}) and run again." >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
