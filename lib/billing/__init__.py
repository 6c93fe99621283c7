"""Credit packs bought through Stripe Checkout: packs, customers, checkout, webhook fulfilment, history.

Kept import-light on purpose: only `stripe_api`, `customers`, `checkout` and
`webhook` load the `stripe` library, so functions that never bill (the vision
models, sign-in) never pay for importing it.
"""
