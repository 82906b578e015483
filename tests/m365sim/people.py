"""Raw material for the simulated organizations: names, offices, departments, job titles."""

from __future__ import annotations

FIRST_NAMES = (
    "Anna", "Mads", "Sofie", "Lars", "Freja", "Jonas", "Ida", "Mikkel", "Emma", "Rasmus",
    "Lena", "Felix", "Hanna", "Lukas", "Marie", "Paul", "Claire", "Louis", "Camille", "Hugo",
    "Daan", "Sanne", "Bram", "Lotte", "Lucia", "Javier", "Carmen", "Pablo", "Elsa", "Oskar",
    "Astrid", "Nils", "Olivia", "James", "Amelia", "Noah", "Priya", "Ravi", "Mei", "Kenji",
    "Fatima", "Omar", "Zofia", "Piotr", "Chiara", "Marco", "Ingrid", "Erik", "Maja", "Viktor",
)
LAST_NAMES = (
    "Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen", "Larsen", "Schmidt", "Müller",
    "Schneider", "Fischer", "Weber", "Dubois", "Martin", "Bernard", "Moreau", "de Vries",
    "Jansen", "Bakker", "Visser", "García", "Martínez", "López", "Sánchez", "Johansson",
    "Lindqvist", "Karlsson", "Eriksson", "Smith", "Brown", "Taylor", "Wilson", "Patel",
    "Sharma", "Chen", "Wang", "Tanaka", "Sato", "Haddad", "Kowalski", "Nowak", "Rossi",
    "Bianchi", "Berg", "Holm", "Dahl", "Lund", "Olsen", "Kristensen", "Møller", "Thomsen",
)
# (office, preferredLanguage, phone prefix, currency used by local vendors)
OFFICES = (
    ("Copenhagen", "da-DK", "+45", "DKK"),
    ("Aarhus", "da-DK", "+45", "DKK"),
    ("Berlin", "de-DE", "+49", "EUR"),
    ("Amsterdam", "nl-NL", "+31", "EUR"),
    ("Paris", "fr-FR", "+33", "EUR"),
    ("Madrid", "es-ES", "+34", "EUR"),
    ("Stockholm", "sv-SE", "+46", "SEK"),
    ("London", "en-GB", "+44", "GBP"),
    ("New York", "en-US", "+1", "USD"),
)
DEPARTMENTS = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Engineering Manager",
                    "Site Reliability Engineer", "QA Engineer"),
    "Product": ("Product Manager", "Product Designer", "UX Researcher"),
    "Sales": ("Account Executive", "Sales Development Representative", "Head of Sales"),
    "Marketing": ("Marketing Manager", "Content Strategist", "Growth Marketer"),
    "Customer Success": ("Customer Success Manager", "Support Specialist"),
    "Finance": ("Controller", "Accountant", "Chief Financial Officer"),
    "Human Resources": ("HR Business Partner", "Recruiter", "People Operations Lead"),
    "Operations": ("Operations Manager", "Office Manager"),
    "Legal": ("Legal Counsel",),
    "IT": ("IT Administrator", "IT Support Technician", "Security Engineer"),
}
# Relative headcount per department, so an organization has more engineers than lawyers.
DEPARTMENT_WEIGHTS = {
    "Engineering": 30, "Product": 8, "Sales": 16, "Marketing": 9, "Customer Success": 11,
    "Finance": 6, "Human Resources": 5, "Operations": 6, "Legal": 2, "IT": 7,
}
# Which app categories each department leans towards (sign-in affinity).
DEPARTMENT_CATEGORIES = {
    "Engineering": {"devtools", "cloud", "observability", "security", "ai", "data"},
    "Product": {"design", "productivity", "project-management", "analytics"},
    "Sales": {"crm", "communication", "video"},
    "Marketing": {"marketing", "design", "analytics", "video", "ecommerce"},
    "Customer Success": {"support", "crm", "communication"},
    "Finance": {"finance", "productivity"},
    "Human Resources": {"hr", "productivity"},
    "Operations": {"productivity", "project-management", "collaboration"},
    "Legal": {"productivity", "storage"},
    "IT": {"security", "it", "cloud", "observability", "storage"},
}
# Ordinary correspondents outside the organization (fictional domains, reserved TLDs).
ORDINARY_DOMAINS = (
    "nordlys-consulting.example", "bakker-logistiek.example", "kundeforeningen.example",
    "acme-partners.example", "stadtwerke-kunde.example", "atelier-durand.example",
    "hacienda-clientes.example", "fjord-invest.example",
)
ORDINARY_SUBJECTS = (
    "Re: Q{q} planning", "Lunch on Friday?", "Meeting notes from today", "Contract draft v{n}",
    "Re: Re: Offsite agenda", "Fwd: Customer feedback", "Travel plans for next week",
    "Quarterly numbers", "Can you review this?", "Welcome to the team!", "Re: Hiring update",
    "Kaffe i morgen?", "Besprechung am Donnerstag", "Réunion de lancement", "Vergadering verzet",
    "Reunión del equipo", "Fika kl 15?",
)
