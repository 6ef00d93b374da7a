"""Human preference feedback: a labelling page in the browser, and saved preference datasets.

Two annotators for preference comparisons live here, named in
`irlkit.algos.preference.GATHERERS` by import path: `human` (a person labels clip pairs in the
browser while training waits; `gatherer.make_human_gatherer`) and `dataset` (labels saved earlier,
no person present; `dataset_gatherer.make_dataset_gatherer`). Nothing heavy loads until one is
chosen.

    python -m irlkit algo=preference feedback=human [feedback.port=8765] [feedback.annotator=alias]
    python -m irlkit algo=preference feedback=dataset feedback.dataset=NAME [feedback.annotators=[a,b]]
    python -m irlkit.feedback {queue,label,stats} ...
"""
