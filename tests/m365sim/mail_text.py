"""Subjects and money formats of vendor mail, in the languages our customers receive it in.

The templates are our own wording of the conventions in notes/billing-emails.md: platform
receipts name the merchant ("Your receipt from <Merchant> #NNNN-NNNN"), some vendors have a
fixed subject, and amounts are written the local way (`$1,234.56`, `1.234,56 €`, `kr 1.234,56`,
`1 234,56 €`)."""

from __future__ import annotations

LANGUAGES = ("en", "da", "de", "fr", "nl", "es", "sv")

STRIPE_RECEIPT = {
    "en": "Your receipt from {merchant} #{receipt}",
    "da": "Din kvittering fra {merchant} #{receipt}",
    "de": "Ihre Quittung von {merchant} #{receipt}",
    "fr": "Votre reçu de {merchant} n°{receipt}",
    "nl": "Je ontvangstbewijs van {merchant} #{receipt}",
    "es": "Tu recibo de {merchant} n.º {receipt}",
    "sv": "Ditt kvitto från {merchant} #{receipt}",
}
RECEIPT = {  # {amount} present: an amount a metadata-only scan can read from the subject
    "en": ("Your {vendor} receipt for {amount}", "Payment received - {vendor} invoice {number}"),
    "da": ("Kvittering for din betaling til {vendor} på {amount}",
           "Faktura {number} fra {vendor} er betalt"),
    "de": ("Ihre Zahlung an {vendor} über {amount}", "Rechnung {number} von {vendor} bezahlt"),
    "fr": ("Confirmation de paiement {vendor} : {amount}", "Votre facture {vendor} {number}"),
    "nl": ("Betalingsbewijs {vendor}: {amount}", "Je factuur {number} van {vendor}"),
    "es": ("Recibo de pago de {vendor} por {amount}", "Tu factura {number} de {vendor}"),
    "sv": ("Kvitto på din betalning till {vendor}: {amount}", "Faktura {number} från {vendor}"),
}
RENEWAL = {
    "en": "Your {vendor} subscription renews on {date}",
    "da": "Dit {vendor}-abonnement fornyes den {date}",
    "de": "Ihr {vendor}-Abonnement verlängert sich am {date}",
    "fr": "Votre abonnement {vendor} sera renouvelé le {date}",
    "nl": "Je {vendor}-abonnement wordt verlengd op {date}",
    "es": "Tu suscripción a {vendor} se renovará el {date}",
    "sv": "Ditt {vendor}-abonnemang förnyas den {date}",
}
PAYMENT_FAILED = {
    "en": "Action required: your payment to {vendor} failed",
    "da": "Betalingen til {vendor} mislykkedes - opdater dit kort",
    "de": "Zahlung an {vendor} fehlgeschlagen",
    "fr": "Échec du paiement pour votre abonnement {vendor}",
    "nl": "Betaling aan {vendor} mislukt",
    "es": "No se pudo procesar tu pago a {vendor}",
    "sv": "Betalningen till {vendor} misslyckades",
}
SIGNUP = {
    "en": "Welcome to {vendor} - your free trial has started",
    "da": "Velkommen til {vendor} - din gratis prøveperiode er startet",
    "de": "Willkommen bei {vendor} - Ihre kostenlose Testphase hat begonnen",
    "fr": "Bienvenue sur {vendor} - votre essai gratuit a commencé",
    "nl": "Welkom bij {vendor} - je gratis proefperiode is gestart",
    "es": "Bienvenido a {vendor}: tu prueba gratuita ha comenzado",
    "sv": "Välkommen till {vendor} - din kostnadsfria provperiod har börjat",
}
# Fixed subjects of vendors that bill from their own address (class "receipt").
VENDOR_RECEIPT = {
    "google-workspace": "Google Workspace: Your invoice is available for {domain}",
    "github": "[GitHub] Payment Receipt for {org}",
    "atlassian": "Your payment has been processed for the invoice IN-{digits}",
    "microsoft-365": "Your Microsoft invoice {number} is ready",
    "aws": "Amazon Web Services Billing Statement Available [Account: {account}]",
}
VENDOR_NOTICES = {
    "github": ("[GitHub] A new SSH key was added to your account",
               "[GitHub] Please verify your device",
               "[GitHub] A third-party OAuth application has been added to your account"),
    "slack": ("Slack: you have 3 unread messages in #general",
              "Your weekly Slack summary"),
    "google-workspace": ("Security alert: new sign-in on Windows",),
}
GENERIC_NOTICES = (
    "What's new in {vendor} this month", "{vendor} product update: new features for your team",
    "Security notice: a new device signed in to {vendor}", "Join our {vendor} webinar next week",
    "The {vendor} newsletter - {month}", "Scheduled maintenance for {vendor}",
)
UNKNOWN_MERCHANTS = (
    "Kaffebar Nord ApS", "Bakery Brothers", "Parkering Øst", "TechConf Tickets Ltd",
    "Buchhandlung Lindner", "Librairie du Parc", "Fietsenmaker De Wit", "Cykelbud Express",
)
INVOICE_WORDS = {
    "en": {"invoice": "Invoice", "number": "Invoice number", "date": "Invoice date",
           "period": "Billing period", "subtotal": "Subtotal", "tax": "VAT",
           "total": "Total", "paid": "Paid", "bill_to": "Bill to", "qty": "Qty",
           "description": "Description", "unit": "Unit price", "amount": "Amount",
           "seats": "seats"},
    "da": {"invoice": "Faktura", "number": "Fakturanummer", "date": "Fakturadato",
           "period": "Periode", "subtotal": "Subtotal", "tax": "Moms", "total": "Total",
           "paid": "Betalt", "bill_to": "Faktureres til", "qty": "Antal",
           "description": "Beskrivelse", "unit": "Enhedspris", "amount": "Beløb",
           "seats": "brugere"},
    "de": {"invoice": "Rechnung", "number": "Rechnungsnummer", "date": "Rechnungsdatum",
           "period": "Leistungszeitraum", "subtotal": "Zwischensumme", "tax": "MwSt.",
           "total": "Gesamtbetrag", "paid": "Bezahlt", "bill_to": "Rechnungsempfänger",
           "qty": "Menge", "description": "Beschreibung", "unit": "Einzelpreis",
           "amount": "Betrag", "seats": "Lizenzen"},
    "fr": {"invoice": "Facture", "number": "Numéro de facture", "date": "Date de facture",
           "period": "Période de facturation", "subtotal": "Sous-total", "tax": "TVA",
           "total": "Total TTC", "paid": "Payée", "bill_to": "Facturé à", "qty": "Qté",
           "description": "Description", "unit": "Prix unitaire", "amount": "Montant",
           "seats": "utilisateurs"},
    "nl": {"invoice": "Factuur", "number": "Factuurnummer", "date": "Factuurdatum",
           "period": "Factuurperiode", "subtotal": "Subtotaal", "tax": "Btw",
           "total": "Totaal", "paid": "Betaald", "bill_to": "Factuur aan", "qty": "Aantal",
           "description": "Omschrijving", "unit": "Prijs per stuk", "amount": "Bedrag",
           "seats": "gebruikers"},
    "es": {"invoice": "Factura", "number": "Número de factura", "date": "Fecha de factura",
           "period": "Periodo de facturación", "subtotal": "Subtotal", "tax": "IVA",
           "total": "Total", "paid": "Pagada", "bill_to": "Facturar a", "qty": "Cant.",
           "description": "Descripción", "unit": "Precio unitario", "amount": "Importe",
           "seats": "usuarios"},
    "sv": {"invoice": "Faktura", "number": "Fakturanummer", "date": "Fakturadatum",
           "period": "Faktureringsperiod", "subtotal": "Delsumma", "tax": "Moms",
           "total": "Totalt", "paid": "Betald", "bill_to": "Faktureras till",
           "qty": "Antal", "description": "Beskrivning", "unit": "Styckpris",
           "amount": "Belopp", "seats": "användare"},
}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def _group(minor: int, thousands: str, decimal: str) -> str:
    units, cents = divmod(abs(minor), 100)
    grouped = f"{units:,}".replace(",", thousands)
    return f"{'-' if minor < 0 else ''}{grouped}{decimal}{cents:02d}"


def format_money(minor: int, currency: str, language: str) -> str:
    """An amount written the way a vendor writing in `language` would write it."""
    if language == "en":
        symbol = _SYMBOLS.get(currency)
        return f"{symbol}{_group(minor, ',', '.')}" if symbol else \
            f"{currency} {_group(minor, ',', '.')}"
    if currency in ("DKK", "SEK"):
        number = _group(minor, "." if language == "da" else " ", ",")
        return f"kr {number}" if language == "da" else f"{number} kr"
    if language == "nl":
        return f"{_SYMBOLS.get(currency, currency)} {_group(minor, '.', ',')}"
    if language in ("fr", "sv"):
        return f"{_group(minor, ' ', ',')} {_SYMBOLS.get(currency, currency)}"
    return f"{_group(minor, '.', ',')} {_SYMBOLS.get(currency, currency)}"


def format_date(day, language: str) -> str:
    if language == "en":
        return day.strftime("%b %d, %Y")
    if language in ("de", "da"):
        return day.strftime("%d.%m.%Y")
    if language == "sv":
        return day.strftime("%Y-%m-%d")
    return day.strftime("%d/%m/%Y") if language in ("fr", "es") else day.strftime("%d-%m-%Y")
