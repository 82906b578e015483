"""Decide, from sender and subject alone, whose mail this is and what kind of billing mail.

Pure and in memory: no body is ever read. Three facts drive the design:
- the same vendor address sends invoices and newsletters, so the subject decides the kind;
- Stripe and Paddle send for many merchants, so the subject's merchant name decides the
  vendor ("Your receipt from Figma #1234-5678"), and platform mail naming no catalog merchant
  is someone else's business ("not_vendor") and must not be kept;
- subjects come in many languages, so every kind has vocabulary in en, da, de, fr, nl, es, sv
  (plus a few it/pt/nb/fi words for invoices and receipts).

Kinds are checked in a fixed order, most specific first: a subject that is clearly not a
transaction (newsletter, security notice, settings change, refund) is "other"; then
payment_failed, renewal, receipt, signup. A vendor's own subject_patterns mark its billing mail
(as a receipt) where the generic vocabulary finds no kind; they do not override the "not a
transaction" list, since a vendor's name in a pattern also appears in its newsletters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr

from shared.catalog import Catalog, Vendor, normalize_name

KINDS = ("receipt", "renewal", "payment_failed", "signup", "other", "not_vendor")

# Subjects are lower-cased before matching, so these patterns are written in lower case.
_NOT_A_TRANSACTION = (
    # newsletters, marketing, product news
    r"\b(?:introducing|announcing|webinars?|newsletter|digest|podcast|e-?book|case study)\b",
    r"\b(?:release notes|changelog|roadmap|what'?s new|new features?|product updates?)\b",
    r"\b(?:tips|how to|guide|best practices|join us|register now|last chance|black friday)\b",
    r"\d+\s?% off|\bsave (?:up to )?\d+\s?%|\bcyber monday\b",
    r"\b(?:neuigkeiten|neu:|tipps|einladung|rabatt|nouveautés|nouveau ?:|webinaire|conseils)\b",
    r"\b(?:lettre d'information|invitation|réduction|nieuw:|nieuwsbrief|uitnodiging|korting)\b",
    r"\b(?:novedades|nuevo:|seminario web|consejos|boletín|invitación|descuento)\b",
    r"\b(?:nyheter|nytt:|nyhetsbrev|inbjudan|nyheder|nyt:|nyhedsbrev|rabat)\b",
    # account administration rather than money moving
    r"\b(?:settings|preferences|einstellungen|paramètres|instellingen|configuración)\b",
    r"\b(?:inställningar|indstillinger)\b",
    r"\b(?:billing|payment|invoice|invoicing|tax|vat)\s+(?:details|information|info|address|"
    r"contacts?|emails?|methods?|profile)\b.*\b(?:updated|changed|added|removed)\b",
    r"\b(?:updated|changed|added|removed)\b.*\b(?:billing|payment)\s+(?:details|information|"
    r"address|contacts?|emails?|methods?)\b",
    r"\bzahlungs(?:methode|art|daten)\b.*\b(?:aktualisiert|geändert|hinzugefügt)\b",
    r"\brechnungs(?:adresse|empfänger|einstellungen)\b|\bfacturation\b.*\b(?:modifié|mis à jour)",
    r"\badresse de facturation\b|(?:moyen|mode) de paiement\b.*\b(?:mis à jour|modifié|ajouté)",
    r"\b(?:betaalmethode|factuuradres)\b.*\b(?:bijgewerkt|gewijzigd|toegevoegd)\b",
    r"\bmétodo de pago\b.*\b(?:actualizado|cambiado|añadido)\b|\bdirección de facturación\b",
    r"\bbetalnings?metod\b.*\b(?:uppdaterad|uppdaterats|ändrad|ändrats|tillagd|lagts till)\b",
    r"\bfaktureringsadress",
    r"\bbetalingsmetode\b.*\b(?:opdateret|ændret|tilføjet)\b",
    r"\b(?:card (?:is )?expir|expiring card|karte läuft|carte expire|kaart verloopt)",
    r"\b(?:tarjeta (?:caduca|vence)|kortet går ut|kort udløber)",
    r"\bprice (?:change|increase)|pricing update|preisänderung|changement de prix|prijswijziging",
    r"\bcambio de precio|prisändring|prisændring|terms of service|privacy policy",
    # security notices
    r"\bsecurity alert|\bnew (?:sign-?in|log-?in|device)\b|sign-?in attempt|verification code",
    r"\bpassword (?:reset|changed|was changed|has been changed)|reset your password",
    r"\b(?:two-factor|2fa|mfa|login code|one-time code)\b",
    r"\b(?:sicherheitswarnung|neue anmeldung|passwort|alerte de sécurité|nouvelle connexion)\b",
    r"\b(?:mot de passe|beveiligingswaarschuwing|nieuwe aanmelding|wachtwoord)\b",
    r"\b(?:alerta de seguridad|nuevo inicio de sesión|contraseña|säkerhetsvarning)\b",
    r"\b(?:ny inloggning|lösenord|sikkerhedsadvarsel|nyt login|adgangskode)\b",
    # money going back, not a charge
    r"\b(?:refund|refunded|credit note|gutschrift|rückerstattung|erstattung|avoir|remboursement)",
    r"\b(?:creditnota|terugbetaling|nota de crédito|reembolso|kreditnota|återbetalning|refusion)",
    # operational notices
    r"\bmonitor(?:ing)? alert|\b(?:incident|outage|downtime|maintenance)\b",
    # collaboration notices from the same senders; repository notifications ("[acme/api] Fix
    # invoice rounding (#12)") and file activity ("Invoice_0042.pdf was added") name billing
    # words without being billing mail
    r"\b(?:invited you|mentioned you|commented on|shared .+ with you)\b",
    r"^(?:(?:re|fwd?|aw|sv|vs):\s*)*\[[\w.-]+/[\w.-]+\]",
    r"\.(?:pdf|xlsx?|docx?|csv|pptx?|zip)\b",
    r"\b(?:added|uploaded|moved|deleted|edited) (?:to|in|from) (?:your |the |a )?(?:shared )?"
    r"(?:folder|drive|files?)\b",
)

_PAYMENT_FAILED = (
    # "<payment word> ... <failure word>" with a few words between: "Zahlung an Zoom
    # fehlgeschlagen", "Betalingen til Slack mislykkedes", "Payment for your plan failed".
    r"\b(?:payment|zahlung|paiement|betaling|betalingen|pago|betalning|betalningen)\b"
    r"(?:\s+\S+){0,5}?\s+(?:failed|declined|fehlgeschlagen|abgelehnt|échoué|refusé|mislukt|"
    r"geweigerd|mislykkedes|afvist|fallido|rechazado|misslyckades|nekades|(?:could not|"
    r"couldn't|cannot|can't|was not|wasn't) be (?:processed|charged|completed)|konnte nicht|"
    r"kon(?:den)? niet|n'a pas pu|no se pudo|no pudo|kunde inte|kunne ikke)\b",
    r"\bpayment (?:has )?failed|\bfailed payment|\bpayment (?:was |has been )?(?:declined|"
    r"unsuccessful|rejected)|\b(?:card|charge) (?:was )?declined",
    r"\b(?:unable to|couldn'?t|could not|can'?t|cannot) (?:process|charge|collect)",
    r"\bproblem with your (?:payment|card)|\bpayment (?:issue|problem)|\bpast due\b|\boverdue\b",
    r"\b(?:was|were) unsuccessful\b|\bunsuccessful payment|\bunpaid\b",
    r"\bupdate your (?:payment|billing) (?:method|details|information|info)\b",
    r"\baction required:? (?:payment|billing)|\bpayment reminder\b|\bfinal notice\b",
    r"\bbetaling(?:en)? (?:mislykkedes|fejlede|blev afvist)|\bmislykket betaling|\bforfalden",
    r"\bubetalt|\bbetalingspåmindelse|\brykker\b|\bkunne ikke (?:gennemføre|behandle|trække)",
    r"\bzahlung (?:ist |wurde )?(?:fehlgeschlagen|abgelehnt)|\bfehlgeschlagene zahlung",
    r"\bzahlung konnte nicht|\bzahlungsproblem|\büberfällig|\bunbezahlt|\boffene rechnung",
    r"\bzahlungserinnerung|\bmahnung",
    r"\béchec (?:du|de) (?:paiement|prélèvement)|\bpaiement (?:a )?échoué|\bpaiement "
    r"(?:a été )?refusé|\bpaiement impossible|\bproblème de paiement|\bimpayée?s?\b",
    r"\bretard de paiement|\brappel de paiement|\bfacture en retard|\bn'avons pas pu",
    r"\bbetaling (?:is )?(?:mislukt|geweigerd|niet gelukt)|\bmislukte betaling|\bachterstallig",
    r"\bonbetaald|\bopenstaande factuur|\bbetalingsherinnering|\bbetalingsprobleem",
    r"\bkon(?:den)? niet (?:worden )?(?:verwerkt|afgeschreven)",
    r"\bpago (?:fallido|rechazado|denegado|vencido|pendiente)|\berror (?:en|con) el pago",
    r"\bel pago (?:ha )?fallado|\bno (?:se )?(?:pudo|pudimos) (?:procesar|cobrar)",
    r"\bproblema con (?:tu|su) pago|\bfactura vencida|\brecordatorio de pago|\bimpago",
    r"\bbetalning(?:en)? (?:misslyckades|nekades|avvisades)|\bmisslyckad betalning",
    r"\bförfallen|\bobetald|\bbetalningspåminnelse|\bpåminnelse om betalning",
    r"\bkunde inte (?:genomföra|behandla|debitera)",
)

_RENEWAL = (
    r"\brenew(?:al|als|s|ed|ing)?\b|\bauto-?renew|\bupcoming (?:invoice|payment|charge|renewal|"
    r"bill)|\bwill be (?:charged|billed)\b",
    r"\bsubscription (?:is )?(?:expiring|expires|ending|ends)\b|\bplan (?:expires|is expiring)",
    r"\bfornyelse|\bforny(?:es|et|s|er)\b|\babonnement(?:et)? udløber|\bkommende betaling",
    r"\bverlängerung|\bverlängert|\berneuerung|\berneuert|\b(?:abonnement|abo|vertrag)\b"
    r"(?:\s+\S+){0,3}?\s+(?:endet|läuft)\b",
    r"\b(?:bevorstehende|anstehende) (?:zahlung|abbuchung|rechnung|verlängerung)",
    r"\brenouvellement|\brenouvel(?:é|ée|er|era|able)\b|\babonnement (?:expire|arrive à "
    r"échéance)|\bprochain (?:paiement|prélèvement)|\bsera (?:prélevé|débité|facturé)",
    r"\bverlenging|\bverleng(?:d|en)\b|\bvernieuwing|\bvernieuwd|\babonnement verloopt",
    r"\baankomende (?:betaling|afschrijving)",
    r"\brenovación|\brenovad[oa]\b|\bse renovará|\brenueva\b|\bsuscripción (?:vence|caduca|expira)",
    r"\bpróximo (?:pago|cobro)",
    r"\bförnyelse|\bförnya(?:s|d|t|r)\b|\bprenumeration(?:en)? (?:går|löper) ut",
    r"\bkommande (?:betalning|debitering)",
)

_RECEIPT = (
    r"\breceipts?\b|\binvoices?\b|\bbilling statement|\bstatement\b|\btax invoice",
    r"\bpayment (?:received|confirmation|confirmed|processed|successful)|\bpayment has been "
    r"(?:processed|received)",
    r"\bthanks? (?:you )?for your (?:\S+\s+){0,2}?(?:payment|purchase|order)\b",
    # "your payment to <vendor> ..." is a receipt unless a failure word says otherwise (the
    # failure kind is checked first)
    r"\byour payment (?:to|of|for)\b|\b(?:ihre|deine) zahlung\b|\bvotre paiement (?:à|de|pour)\b",
    r"\b(?:je|uw) betaling aan\b|\b(?:tu|su) pago (?:a|de)\b|\bdin betaling til\b",
    r"\bdin betalning till\b",
    r"\border (?:confirmation|receipt)|\byour (?:bill|purchase|order)\b|\bsubscription "
    r"confirmation",
    r"\b(?:we(?:'ve| have)? charged|has been charged|was charged)\b",
    r"\bkvittering|\bfaktura|\bbetalingsbekræftelse|\bbetaling (?:modtaget|gennemført|bekræftet)",
    r"\btak for din betaling|\bordrebekræftelse",
    r"(?<!be)rechnung|\bquittung|\bzahlungsbeleg|\bbeleg\b|\bzahlungsbestätigung",
    r"\bzahlung (?:erhalten|eingegangen|bestätigt|erfolgreich)|\b(?:vielen )?dank für "
    r"(?:ihre|deine) zahlung|\bbestellbestätigung|\babrechnung|\bkontoauszug",
    r"\bfactures?\b|\breçu\b|\bconfirmation de (?:paiement|commande)|\bpaiement (?:reçu|"
    r"confirmé|effectué|réussi)|\bmerci pour votre (?:paiement|achat|commande)|\brelevé\b",
    r"\bfactu(?:ur|ren)|\bontvangstbewijs|\bbetalingsbewijs|\bbetaalbewijs|\bkwitantie",
    r"\bbetalingsbevestiging|\bbetaling (?:ontvangen|bevestigd|geslaagd)|\bbedankt voor "
    r"(?:je|uw) betaling|\borderbevestiging",
    r"\bfacturas?\b|\brecibo\b|\bcomprobante|\bconfirmación de (?:pago|pedido)",
    r"\bpago (?:recibido|confirmado|realizado|procesado)|\bgracias por (?:tu|su) (?:pago|compra)",
    r"\bkvitto|\bbetalningsbekräftelse|\bbetalning(?:en)? (?:mottagen|genomförd|bekräftad)",
    r"\btack för din (?:betalning|beställning|order)|\borderbekräftelse",
    r"\bricevuta|\bfattura|\bfatura\b|\bkuitti|\blasku\b",
)

_SIGNUP = (
    r"\bwelcome\b|\bsign(?:ed|ing)? up\b|\bsignup\b|\b(?:account|workspace|team|organization) "
    r"(?:has been |was |is )?(?:created|"
    r"activated|ready)|\b(?:confirm|verify) your (?:email|e-mail|account|address)\b",
    r"\bactivate your (?:account|subscription)|\bget(?:ting)? started with\b|\btrial\b",
    r"\byou(?:'ve| have) (?:joined|registered)|\bthanks? (?:you )?for (?:joining|registering|"
    r"creating|signing)",
    r"\bvelkommen|\btilmeld|\bkonto (?:er )?oprettet|\bprøveperiode|\bbekræft din "
    r"(?:e-mail|konto|mailadresse)|\bkom godt i gang",
    r"\bwillkommen|\bregistrierung|\bkonto (?:wurde )?(?:erstellt|eröffnet|aktiviert)",
    r"\btestphase|\btestversion|\btestzeitraum|\bbestätige deine e-mail|\bbestätigen sie "
    r"ihre e-mail|\berste schritte",
    r"\bbienvenue|\binscription|\bcompte (?:a été )?(?:créé|activé)|\bessai gratuit|\bpériode "
    r"d'essai|\bconfirmez votre (?:adresse|e-mail|compte)|\bpremiers pas",
    r"\bwelkom|\bregistratie|\baccount (?:is )?(?:aangemaakt|geactiveerd)|\bproefperiode",
    r"\bgratis proef|\bbevestig (?:je|uw) (?:e-mail|account|adres)|\baan de slag",
    r"\bbienvenid[oa]|\bregistro\b|\bcuenta (?:ha sido )?(?:creada|activada)|\bprueba gratuita",
    r"\bperiodo de prueba|\bconfirma (?:tu|su) (?:correo|cuenta|dirección)|\bprimeros pasos",
    r"\bvälkommen|\bregistrering|\bkonto (?:har )?(?:skapats|aktiverats)|\bprovperiod",
    r"\btestperiod|\bbekräfta din (?:e-post|e-postadress|konto)|\bkom igång",
)

# Platform subjects name the merchant after a document word and a preposition:
# "Your receipt from Figma #1234", "Ihre Quittung von Figma", "Votre reçu de Figma n° 12".
# The name ends at a number sign, bracket, dash, or a verb/preposition that starts the rest
# of the sentence ("Your payment to Figma was unsuccessful", "... from Figma for your plan").
_MERCHANT_AFTER = re.compile(
    r"\b(?:receipt|invoice|payment|order|purchase|subscription|quittung|rechnung|zahlung|"
    r"bestellung|reçu|facture|paiement|commande|abonnement|ontvangstbewijs|factuur|betaling|"
    r"bestelling|recibo|factura|pago|pedido|suscripción|kvitto|faktura|betalning|kvittering|"
    r"ordre|køb|köp)\s+"
    r"(?:from|to|for|of|with|von|an|für|bei|de|du|à|pour|chez|van|aan|voor|bij|para|con|a|"
    r"från|till|för|hos|fra|til|af)\s+"
    r"(?:la part de\s+)?(?:(?:your|the|ihre|deine|votre|uw|je|tu|su|din|ditt|er|la|le|el)\s+)?"
    # an amount is not a merchant: "Your n8n receipt for $719.10", "receipt for USD 80.00"
    r"(?![$€£]|\d[\d.,]*(?:\s|$)|(?:usd|eur|gbp|dkk|sek|nok|chf|kr\.?)\s?\d)"
    r"(?P<merchant>.+?)"
    r"(?=\s*[#\[(|:]|\s*\bn[°º.]|\s[-–—]\s|[.!?]?$|\s+[$€£\d]"
    r"|\s+(?:was|were|is|has|have|will|failed|ist|wurde|wird|hat|est|a|sera|werd|wordt|ha|se|"
    r"har|er|blev|var|vil|kommer|for|für|pour|voor|para|för|til|af|på|on|am|le|el|op|den|"
    r"über|of|de|por|van|till)\b)"
)


def _any_of(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns))


def _merchant_regex(vendors: list[Vendor]) -> re.Pattern[str] | None:
    """One alternation over every merchant name, punctuation- and legal-suffix-tolerant:
    "Figma, Inc." is found in "figma inc" and "Fly.io" in "fly.io"; longest names first."""
    shapes = set()
    for vendor in vendors:
        for name in vendor.merchant_names:
            words = re.findall(r"[^\W_]+", name.lower())
            while len(words) > 1 and normalize_name(" ".join(words)) == normalize_name(
                " ".join(words[:-1])
            ):
                words.pop()  # a legal suffix ("inc", "gmbh") is optional in subjects
            shapes.add(r"[\W_]*".join(re.escape(w) for w in words))
    if not shapes:
        return None
    ordered = sorted(shapes, key=len, reverse=True)
    return re.compile(r"(?<![^\W_])(?:" + "|".join(ordered) + r")(?![^\W_])")


@dataclass(frozen=True)
class Classification:
    vendor_id: str | None
    kind: str


NOT_VENDOR = Classification(vendor_id=None, kind="not_vendor")


class Classifier:
    """Compiles the vocabulary and the catalog's merchant names once; classify() is then a
    handful of regex searches per message."""

    def __init__(self, catalog: Catalog):
        self._catalog = catalog
        self._not_a_transaction = _any_of(_NOT_A_TRANSACTION)
        self._kinds = (
            ("payment_failed", _any_of(_PAYMENT_FAILED)),
            ("renewal", _any_of(_RENEWAL)),
            ("receipt", _any_of(_RECEIPT)),
            ("signup", _any_of(_SIGNUP)),
        )
        self._platform_merchants = _merchant_regex([v for v in catalog.vendors if v.platform])
        self._vendor_patterns = {
            v.id: re.compile("|".join(f"(?:{p})" for p in v.subject_patterns), re.IGNORECASE)
            for v in catalog.vendors
            if v.subject_patterns
        }

    def classify(self, sender: str | None, subject: str | None) -> Classification:
        """Vendor and kind of one message. None is accepted for a missing sender or subject
        (Graph returns null subjects); anything else that is not text is a TypeError."""
        for name, value in (("sender", sender), ("subject", subject)):
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a string or None, not {type(value).__name__}")
        address = _bare_address(sender or "")
        subject = subject or ""
        lowered = subject.lower()
        vendors = self._catalog.vendors_for_sender(address) if address else ()
        if len(vendors) == 1:
            return Classification(vendors[0].id, self._kind(vendors[0], subject, lowered))
        if vendors or (address and self._catalog.platform_for_sender(address)):
            vendor = self._named_merchant(lowered, allowed=vendors)
            if vendor is None:
                return NOT_VENDOR
            return Classification(vendor.id, self._kind(vendor, subject, lowered))
        return NOT_VENDOR

    def _kind(self, vendor: Vendor, subject: str, lowered: str) -> str:
        kind = next((kind for kind, regex in self._kinds if regex.search(lowered)), None)
        if kind is None:
            pattern = self._vendor_patterns.get(vendor.id)
            kind = "receipt" if pattern and pattern.search(subject) else "other"
        # Checked only once a kind is found (same answer, fewer scans of ordinary notices).
        if kind != "other" and self._not_a_transaction.search(lowered):
            return "other"
        return kind

    def _named_merchant(self, lowered: str, allowed: tuple[Vendor, ...]) -> Vendor | None:
        """The catalog merchant a platform subject names. Where the subject has "receipt from
        <name>" phrases, one name must be a catalog merchant as a whole: a receipt from
        "Harvest Moon Farm" is not Harvest's. Otherwise any merchant name in the subject counts
        ("Your Figma receipt")."""
        phrases = _merchant_phrases(lowered)
        if phrases:
            candidates = [self._catalog.vendor_for_merchant(p) for p in phrases]
        elif self._platform_merchants is not None:
            candidates = [
                self._catalog.vendor_for_merchant(found.group())
                for found in self._platform_merchants.finditer(lowered)
            ]
        else:
            candidates = []
        for vendor in candidates:
            if vendor is not None and vendor.platform and (not allowed or vendor in allowed):
                return vendor
        return None


def _bare_address(sender: str) -> str:
    """"Figma <x@y.com>" -> "x@y.com"; plain addresses skip the (slow) RFC 5322 parser."""
    if "<" in sender or "(" in sender or '"' in sender:
        sender = parseaddr(sender)[1]
    return sender.strip().lower()


def _merchant_phrases(lowered: str) -> list[str]:
    """Every "<document word> <preposition> <name>" slot, overlapping ones included:
    "kvittering for din betaling til setapp" -> ["betaling", "setapp"]."""
    phrases, position = [], 0
    while found := _MERCHANT_AFTER.search(lowered, position):
        phrases.append(found.group("merchant"))
        position = found.start() + 1
    return phrases


def classify(catalog: Catalog, sender: str | None, subject: str | None) -> Classification:
    """Function form; builds a Classifier each call, so use Classifier for many messages."""
    return Classifier(catalog).classify(sender, subject)
