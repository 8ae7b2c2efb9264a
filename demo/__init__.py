"""The demo: sandboxes of Salesforce and Dataverse, a webinar platform, people, records that fail.

The failing records give the errors page something true to say, in the CRMs' own words.
``syncline demo`` (cli/demo.py) puts the pieces together: the connections file
(:mod:`demo.connections`), the sandboxes (:mod:`demo.sandboxes`), the seed data
(:mod:`demo.seed`) and, while it runs, a simulated sales rep and marketer making edits
(:mod:`demo.activity`). Nothing outside the demo imports this package.
"""
